//! The fields a reader returns (upstream's `create_schema_view` as `make_reader` applies it):
//! the fields named exactly first, in the order given, then those whose whole name matches one
//! of the regular expressions, in schema order. Neither given: the whole schema.

use crate::error::{Error, Result};
use crate::schema::Unischema;

/// The schema view and the indices of its fields in `schema`.
pub fn select(schema: &Unischema, names: &[String], patterns: Option<&[String]>) -> Result<(Unischema, Vec<usize>)> {
    let patterns = patterns.unwrap_or_default();
    if names.is_empty() && patterns.is_empty() {
        return Ok((schema.clone(), (0..schema.fields().len()).collect()));
    }
    let unknown: Vec<&String> = names.iter().filter(|n| position(schema, n).is_none()).collect();
    if !unknown.is_empty() {
        return Err(Error::value(format!(
            "field {} does not belong to the schema {} (fields: {})",
            python_list(&unknown),
            schema.name(),
            field_names(schema)
        )));
    }
    let mut chosen: Vec<usize> = Vec::new();
    for name in names {
        let index = position(schema, name).expect("checked above");
        if !chosen.contains(&index) {
            chosen.push(index);
        }
    }
    for field in schema.match_fields(patterns)? {
        let index = position(schema, &field.name).expect("a field of the schema");
        if !chosen.contains(&index) {
            chosen.push(index);
        }
    }
    if chosen.is_empty() {
        return Err(Error::value(format!(
            "No fields matching the criteria {} were found in the dataset (fields: {})",
            python_list(patterns),
            field_names(schema)
        )));
    }
    let fields = chosen.iter().map(|&i| schema.fields()[i].clone()).collect();
    Ok((Unischema::new(format!("{}_view", schema.name()), fields)?, chosen))
}

/// The index of field `name` in `schema`.
pub fn position(schema: &Unischema, name: &str) -> Option<usize> {
    schema.fields().iter().position(|f| f.name == name)
}

/// The schema's field names, comma-separated (for error messages).
pub fn field_names(schema: &Unischema) -> String {
    schema.fields().iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// Strings as Python prints a list of them (`['a', 'b']`), as upstream's messages show them.
fn python_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{:?}", s.as_ref()).replace('"', "'")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Unischema {
        let json = r#"{"name": "S", "fields": [
            {"name": "id", "dtype": "int64", "shape": []}, {"name": "id2", "dtype": "int64", "shape": []},
            {"name": "image", "dtype": "uint8", "shape": [2, 2], "codec": {"type": "ndarray"}},
            {"name": "name", "dtype": "str", "shape": []}]}"#;
        Unischema::from_json(json).unwrap()
    }

    fn names(view: &Unischema) -> Vec<&str> {
        view.fields().iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn names_come_first_then_whole_name_matches_in_schema_order() {
        let s = schema();
        let (view, indices) = select(&s, &["name".into()], Some(&["i.*".into(), "id".into()])).unwrap();
        assert_eq!(names(&view), ["name", "id", "id2", "image"]);
        assert_eq!(indices, [3, 0, 1, 2]);
        assert_eq!(view.name(), "S_view");
        let (view, _) = select(&s, &[], Some(&["i".into(), "id|nam".into()])).unwrap();
        assert_eq!(names(&view), ["id"], "a regex matches whole names only");
    }

    #[test]
    fn nothing_selected_is_the_whole_schema() {
        let s = schema();
        let (view, indices) = select(&s, &[], Some(&[])).unwrap();
        assert_eq!((view.name(), indices.len()), ("S", 4));
        assert_eq!(select(&s, &[], None).unwrap().0, s);
    }

    #[test]
    fn unknown_names_and_empty_matches_are_errors_naming_them() {
        let s = schema();
        let e = select(&s, &["nope".into(), "id".into()], None).unwrap_err().to_string();
        assert!(e.contains("field ['nope'] does not belong to the schema S (fields: id, id2, image, name)"), "{e}");
        let e = select(&s, &[], Some(&["x.*".into()])).unwrap_err().to_string();
        assert!(e.contains("No fields matching the criteria ['x.*'] were found in the dataset"), "{e}");
        let e = select(&s, &[], Some(&["(id".into()])).unwrap_err().to_string();
        assert!(e.contains("invalid field regex"), "{e}");
    }

    #[test]
    fn look_arounds_select_as_python_re_does() {
        let s = schema();
        let (view, _) = select(&s, &[], Some(&["id(?!2).*".into(), "(?=na)\\w+".into()])).unwrap();
        assert_eq!(names(&view), ["id", "name"]);
    }
}
