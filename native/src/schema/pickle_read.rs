//! Reads the pickled Unischema upstream Petastorm stores in `_common_metadata`
//! (`dataset-toolkit.unischema.v1`) without running Python: an inert pickle machine
//! (`vm`) with an allow-list of globals builds a value tree, and this module turns the
//! `Unischema` object in it into a [`Unischema`].
//!
//! Understood object graphs: the Unischema by `copy_reg._reconstructor` (Python 2) or
//! `NEWOBJ` with a state dict holding `_name` and `_fields` (an `OrderedDict` by `REDUCE`
//! with a list of pairs, or by `SETITEMS`); fields as `pyspark.serializers._restore`
//! namedtuples (Petastorm ≤ 0.7.0), `_reconstructor(UnischemaField, tuple, values)`
//! (0.7.x) or `NEWOBJ UnischemaField` (protocol 2+); NumPy scalar classes, `numpy.dtype`
//! objects, `decimal.Decimal` and Python builtin types as dtypes; `petastorm.codecs`
//! objects with their attributes; `pyspark.sql.types` instances.

mod vm;

use std::collections::{HashMap, HashSet};

use vm::{Heap, Id, Node, Use};

use super::{Codec, Field, FieldDType, SparkType, Unischema, PYSPARK_DECIMAL_CLASS};
use crate::codec::ImageFormat;
use crate::dtype::{ArrayDType, Kind};
use crate::error::{Error, Result};

pub use vm::MAX_INPUT;

/// Field names of upstream's `UnischemaField` namedtuple, in order.
const FIELD_NAMES: [&str; 5] = ["name", "numpy_dtype", "shape", "codec", "nullable"];

/// NumPy scalar classes by name (aliases included) and the field dtype each is.
const NUMPY_TYPES: &[(&str, Option<FieldDType>)] = {
    use FieldDType::*;
    &[
        ("bool_", Some(Bool)),
        ("bool8", Some(Bool)),
        ("bool", Some(Bool)),
        ("int8", Some(Int8)),
        ("byte", Some(Int8)),
        ("int16", Some(Int16)),
        ("short", Some(Int16)),
        ("int32", Some(Int32)),
        ("intc", Some(Int32)),
        ("int64", Some(Int64)),
        ("int_", Some(Int64)),
        ("intp", Some(Int64)),
        ("longlong", Some(Int64)),
        ("uint8", Some(UInt8)),
        ("ubyte", Some(UInt8)),
        ("uint16", Some(UInt16)),
        ("ushort", Some(UInt16)),
        ("uint32", Some(UInt32)),
        ("uintc", Some(UInt32)),
        ("uint64", Some(UInt64)),
        ("uint", Some(UInt64)),
        ("uintp", Some(UInt64)),
        ("ulonglong", Some(UInt64)),
        ("float16", Some(Float16)),
        ("half", Some(Float16)),
        ("float32", Some(Float32)),
        ("single", Some(Float32)),
        ("float64", Some(Float64)),
        ("float_", Some(Float64)),
        ("double", Some(Float64)),
        ("string_", Some(Bytes)),
        ("bytes_", Some(Bytes)),
        ("unicode_", Some(Str)),
        ("str_", Some(Str)),
        // Known NumPy types with no field dtype here: named in the error, not "not allowed".
        ("object_", None),
        ("void", None),
        ("datetime64", Some(Datetime64)),
        ("timedelta64", None),
        ("complex64", None),
        ("complex128", None),
        ("longdouble", None),
        ("float128", None),
    ]
};

/// `pyspark.sql.types` classes a pickle may name that have no Petastorm column form here (named
/// in the error); the supported ones come from `SparkType::from_pyspark_class` and decimal.
const UNSUPPORTED_SPARK_TYPES: &[&str] = &[
    "NullType",
    "TimestampNTZType",
    "CharType",
    "VarcharType",
    "ArrayType",
    "MapType",
    "StructType",
    "StructField",
    "DayTimeIntervalType",
    "YearMonthIntervalType",
];
const CODECS: [&str; 4] = ["ScalarCodec", "NdarrayCodec", "CompressedNdarrayCodec", "CompressedImageCodec"];

/// The globals a Unischema pickle may name (modules as Python 3 names them); any other
/// dotted name can only be a user's codec class, built without arguments and never imported.
fn allowed(module: &str, name: &str) -> Use {
    const KNOWN_MODULES: [&str; 9] = [
        "petastorm.unischema",
        "petastorm.codecs",
        "pyspark.sql.types",
        "pyspark.serializers",
        "numpy",
        "decimal",
        "builtins",
        "copyreg",
        "collections",
    ];
    if known(module, name) {
        Use::Any
    } else if !KNOWN_MODULES.contains(&module) && is_dotted_identifier(module) && is_dotted_identifier(name) {
        Use::Bare
    } else {
        Use::Denied
    }
}

fn known(module: &str, name: &str) -> bool {
    match module {
        "petastorm.unischema" => matches!(name, "Unischema" | "UnischemaField"),
        "petastorm.codecs" => CODECS.contains(&name),
        "pyspark.sql.types" => {
            SparkType::from_pyspark_class(name).is_some()
                || name == PYSPARK_DECIMAL_CLASS
                || UNSUPPORTED_SPARK_TYPES.contains(&name)
        }
        "pyspark.serializers" => name == "_restore",
        "numpy" => name == "dtype" || NUMPY_TYPES.iter().any(|(n, _)| *n == name),
        "decimal" => name == "Decimal",
        "builtins" => {
            matches!(name, "object" | "tuple" | "str" | "unicode" | "bytes" | "int" | "long" | "float" | "bool")
        }
        "copyreg" => name == "_reconstructor",
        "collections" => name == "OrderedDict",
        _ => false,
    }
}

/// `a.b.c` with Python identifier parts (ASCII).
fn is_dotted_identifier(s: &str) -> bool {
    s.len() <= SHORT_TEXT
        && s.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
                && part.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
        })
}

/// The Unischema in an upstream Petastorm pickle (`dataset-toolkit.unischema.v1`).
/// Malformed input, globals off the allow-list and object graphs other than a Unischema's
/// are `Metadata` errors.
pub fn from_pickle(bytes: &[u8]) -> Result<Unischema> {
    let heap = vm::load(bytes, &allowed)?;
    let (name, fields) = Reader { heap: &heap }.unischema(heap.root)?;
    Unischema::new(name, fields).map_err(|e| Error::metadata(e.message()).context("pickled Unischema"))
}

fn bad(message: impl Into<String>) -> Error {
    Error::metadata(message)
}

/// The most attributes (over all `BUILD` states) a codec, Spark type or keyword set may
/// have; small objects stay cheap however often a pickle shares a large dict among them.
const SMALL: usize = 64;
/// The most attributes of the Unischema object and entries of its `_fields`.
const LARGE: usize = 1 << 20;
/// The longest short string (image codec, dtype string, namedtuple field name).
const SHORT_TEXT: usize = 256;
/// The most dimensions of a shape (NumPy's limit).
const MAX_DIMS: usize = 64;

/// An object with its constructor resolved: `copy_reg._reconstructor` and
/// `pyspark.serializers._restore` are replaced by the class they rebuild.
struct Object<'h> {
    module: &'h str,
    class: &'h str,
    /// Positional constructor values (the tuple's items for tuple-based classes).
    args: &'h [Id],
    /// The names of `args` when the pickle gives them (`_restore`).
    names: Option<Vec<String>>,
    kwargs: Option<Id>,
    states: &'h [Id],
    items: &'h [(Id, Id)],
}

impl Object<'_> {
    fn is(&self, module: &str, class: &str) -> bool {
        self.module == module && self.class == class
    }

    fn full_name(&self) -> String {
        format!("{}.{}", self.module, self.class)
    }
}

struct Reader<'h> {
    heap: &'h Heap,
}

impl<'h> Reader<'h> {
    fn node(&self, id: Id) -> &'h Node {
        self.heap.node(id)
    }

    fn global(&self, id: Id) -> Option<(&'h str, &'h str)> {
        match self.node(id) {
            Node::Global { module, name } => Some((module, name)),
            _ => None,
        }
    }

    /// A short description of a value for error messages.
    fn describe(&self, id: Id) -> String {
        let clip = |s: &str| match s.char_indices().nth(60) {
            Some((at, _)) => format!("{}…", &s[..at]),
            None => s.to_string(),
        };
        match self.node(id) {
            Node::None => "None".into(),
            Node::Bool(b) => if *b { "True" } else { "False" }.into(),
            Node::Int(i) => i.to_string(),
            Node::Float(f) => f.to_string(),
            Node::Str(s) => format!("'{}'", clip(s)),
            Node::Bytes(b) => format!("b'{}'", clip(&String::from_utf8_lossy(&b[..b.len().min(240)]))),
            Node::Tuple(_) => "a tuple".into(),
            Node::List(_) => "a list".into(),
            Node::Dict(_) => "a dict".into(),
            Node::Set(_) | Node::FrozenSet(_) => "a set".into(),
            Node::Global { module, name } => format!("{module}.{name}"),
            Node::Object { .. } => match self.object(id) {
                Ok(o) => format!("a {} object", o.full_name()),
                Err(_) => "an object".into(),
            },
        }
    }

    /// A str, or a Python 2 str (bytes: UTF-8, else Latin-1).
    fn text(&self, id: Id) -> Result<String> {
        match self.node(id) {
            Node::Str(s) => Ok(s.clone()),
            Node::Bytes(b) => {
                Ok(String::from_utf8(b.clone()).unwrap_or_else(|_| b.iter().map(|&c| char::from(c)).collect()))
            }
            _ => Err(bad(format!("expected a string, got {}", self.describe(id)))),
        }
    }

    /// [`text`](Self::text) of at most [`SHORT_TEXT`] bytes.
    fn short_text(&self, id: Id) -> Result<String> {
        match self.node(id) {
            Node::Str(s) if s.len() > SHORT_TEXT => Err(bad(format!("unexpected long string {}", self.describe(id)))),
            Node::Bytes(b) if b.len() > SHORT_TEXT => Err(bad(format!("unexpected long string {}", self.describe(id)))),
            _ => self.text(id),
        }
    }

    /// True when the value is the string `key` (compared without copying).
    fn is_text(&self, id: Id, key: &str) -> bool {
        match self.node(id) {
            Node::Str(s) => s == key,
            Node::Bytes(b) => b == key.as_bytes(),
            _ => false,
        }
    }

    fn int(&self, id: Id) -> Result<i64> {
        match self.node(id) {
            Node::Int(i) => Ok(*i),
            Node::Bool(b) => Ok((*b).into()),
            _ => Err(bad(format!("expected an integer, got {}", self.describe(id)))),
        }
    }

    fn bool(&self, id: Id) -> Result<bool> {
        match self.node(id) {
            Node::Bool(b) => Ok(*b),
            Node::Int(i @ (0 | 1)) => Ok(*i == 1),
            Node::None => Ok(false),
            _ => Err(bad(format!("expected a bool, got {}", self.describe(id)))),
        }
    }

    /// The items of a tuple or list.
    fn sequence(&self, id: Id) -> Option<&'h [Id]> {
        match self.node(id) {
            Node::Tuple(items) | Node::List(items) => Some(items),
            _ => None,
        }
    }

    fn object(&self, id: Id) -> Result<Object<'h>> {
        let Node::Object { class, args, kwargs, states, items, .. } = self.node(id) else {
            return Err(bad(format!("expected an object, got {}", self.describe(id))));
        };
        let (module, name) = self.global(*class).ok_or_else(|| bad("an object's class is not a global"))?;
        let args = self.sequence(*args).expect("the machine checks constructor arguments");
        let mut o = Object { module, class: name, args, names: None, kwargs: *kwargs, states, items };
        if o.is("copyreg", "_reconstructor") {
            // _reconstructor(cls, base, state): base.__new__(cls, state) unless base is object.
            let [cls, base, state] = *args else {
                return Err(bad("copy_reg._reconstructor takes 3 arguments"));
            };
            (o.module, o.class) = self.global(cls).ok_or_else(|| bad("copy_reg._reconstructor of a non-class"))?;
            let base = self.global(base).ok_or_else(|| bad("copy_reg._reconstructor with a non-class base"))?;
            o.args = match (base, self.node(state)) {
                (("builtins", "object"), _) | (_, Node::None) => &[],
                _ => &args[2..],
            };
        } else if o.is("pyspark.serializers", "_restore") {
            // _restore(name, field names, values) rebuilds a namedtuple.
            let [_, fields, values] = *args else {
                return Err(bad("pyspark.serializers._restore takes 3 arguments"));
            };
            let names = self.sequence(fields).ok_or_else(|| bad("_restore field names are not a tuple"))?;
            if names.len() > FIELD_NAMES.len() {
                return Err(bad(format!("unsupported namedtuple with {} fields (not a UnischemaField)", names.len())));
            }
            let names = names.iter().map(|&n| self.short_text(n)).collect::<Result<Vec<_>>>()?;
            if !names.iter().all(|n| FIELD_NAMES.contains(&n.as_str())) || !names.iter().any(|n| n == "name") {
                return Err(bad(format!("unsupported namedtuple with fields {names:?} (not a UnischemaField)")));
            }
            (o.module, o.class) = ("petastorm.unischema", "UnischemaField");
            o.args = self.sequence(values).ok_or_else(|| bad("_restore values are not a tuple"))?;
            if o.args.len() != names.len() {
                return Err(bad("_restore has as many values as field names"));
            }
            o.names = Some(names);
        }
        Ok(o)
    }

    /// The key/value pairs of a dict or `OrderedDict` object, in order (repeats kept);
    /// more than `max` is an error.
    fn pairs(&self, id: Id, max: usize) -> Result<Vec<(Id, Id)>> {
        let too_many = || bad(format!("more than {max} entries in {}", self.describe(id)));
        if let Node::Dict(pairs) = self.node(id) {
            return if pairs.len() > max { Err(too_many()) } else { Ok(pairs.clone()) };
        }
        let o = self.object(id)?;
        if !o.is("collections", "OrderedDict") {
            return Err(bad(format!("expected a dict, got {}", self.describe(id))));
        }
        let mut pairs = Vec::new();
        match *o.args {
            [] => {}
            [items] => match self.node(items) {
                Node::Dict(items) if items.len() + o.items.len() <= max => pairs.extend(items),
                Node::Dict(_) => return Err(too_many()),
                _ => {
                    let items = self.sequence(items).ok_or_else(|| bad("OrderedDict of a non-list"))?;
                    if items.len() + o.items.len() > max {
                        return Err(too_many());
                    }
                    for &pair in items {
                        match self.sequence(pair) {
                            Some(&[k, v]) => pairs.push((k, v)),
                            _ => return Err(bad("OrderedDict items are not pairs")),
                        }
                    }
                }
            },
            _ => return Err(bad("OrderedDict takes at most 1 argument")),
        }
        if pairs.len() + o.items.len() > max {
            return Err(too_many());
        }
        pairs.extend(o.items);
        Ok(pairs)
    }

    /// The attributes `BUILD` set on `o` (`__dict__` states, or `(dict, slots)` pairs), at
    /// most `max` in all; keys are not copied.
    fn attributes(&self, o: &Object, max: usize) -> Result<Attributes<'_, 'h>> {
        let mut pairs = Vec::new();
        for &state in o.states {
            let parts = match self.node(state) {
                Node::Tuple(parts) if parts.len() == 2 => &parts[..],
                _ => std::slice::from_ref(&state),
            };
            for &part in parts {
                if matches!(self.node(part), Node::None) {
                    continue;
                }
                let more = self.pairs(part, max - pairs.len());
                pairs.extend(more.map_err(|e| e.context(format_args!("state of {}", o.full_name())))?);
            }
        }
        Ok(Attributes { reader: self, pairs })
    }

    fn unischema(&self, root: Id) -> Result<(String, Vec<Field>)> {
        let o = self.object(root).map_err(|e| e.context("pickled Unischema"))?;
        if !o.is("petastorm.unischema", "Unischema") {
            return Err(bad(format!("the pickle holds a {}, not a petastorm.unischema.Unischema", o.full_name())));
        }
        let attributes = self.attributes(&o, LARGE)?;
        let name = attributes.get("_name").ok_or_else(|| bad("pickled Unischema has no _name"))?;
        let name = self.text(name).map_err(|e| e.context("Unischema _name"))?;
        let fields =
            attributes.get("_fields").ok_or_else(|| bad(format!("pickled Unischema {name} has no _fields")))?;
        // A repeated key keeps its first position and takes its last value (dict semantics).
        // Keys are compared by object first, so a shared key string is never copied again.
        let mut order: Vec<(String, Id)> = Vec::new();
        let mut by_node: HashMap<Id, usize> = HashMap::new();
        let mut by_text: HashMap<String, usize> = HashMap::new();
        for (k, v) in self.pairs(fields, LARGE).map_err(|e| e.context(format_args!("Unischema {name} _fields")))? {
            let i = match by_node.get(&k) {
                Some(&i) => i,
                None => {
                    let key = self.text(k)?;
                    let i = *by_text.entry(key.clone()).or_insert(order.len());
                    if i == order.len() {
                        order.push((key, v));
                    }
                    by_node.insert(k, i);
                    i
                }
            };
            order[i].1 = v;
        }
        // One field object or name string in two places would be a duplicate field.
        let mut seen = HashSet::new();
        let mut fields = Vec::with_capacity(order.len());
        for (key, id) in order {
            let in_field = |e: Error| e.context(format_args!("pickled Unischema {name}, field '{key}'"));
            let field = self.field(id, &mut seen).map_err(in_field)?;
            fields.push(field);
        }
        Ok((name, fields))
    }

    /// A `UnischemaField`; `seen` holds the field objects and name strings already used.
    fn field(&self, id: Id, seen: &mut HashSet<Id>) -> Result<Field> {
        let duplicate = || bad("the same field appears twice");
        if !seen.insert(id) {
            return Err(duplicate());
        }
        let o = self.object(id)?;
        if !o.is("petastorm.unischema", "UnischemaField") {
            return Err(bad(format!("expected a UnischemaField, got {}", o.full_name())));
        }
        let values: &[Id] = match *o.args {
            [tuple] if self.sequence(tuple).is_some() => self.sequence(tuple).expect("a sequence"),
            _ => o.args,
        };
        let mut named: Vec<(&str, Id)> = match &o.names {
            Some(names) => names.iter().map(String::as_str).zip(values.iter().copied()).collect(),
            None if values.len() <= FIELD_NAMES.len() => {
                FIELD_NAMES.iter().copied().zip(values.iter().copied()).collect()
            }
            None => return Err(bad(format!("UnischemaField with {} values", values.len()))),
        };
        let keywords = o.kwargs.map(|kwargs| self.pairs(kwargs, SMALL)).transpose()?.unwrap_or_default();
        for (k, v) in keywords {
            match FIELD_NAMES.iter().find(|n| self.is_text(k, n)) {
                Some(n) => named.push((n, v)),
                None => return Err(bad(format!("UnischemaField has no keyword {}", self.describe(k)))),
            }
        }
        let get = |key: &str| named.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let need = |key: &str| get(key).ok_or_else(|| bad(format!("UnischemaField has no {key}")));
        let name = need("name")?;
        if !seen.insert(name) {
            return Err(duplicate());
        }
        let name = self.text(name)?;
        let dtype = self.dtype(need("numpy_dtype")?)?;
        let shape = self.shape(need("shape")?)?;
        let codec = get("codec").map(|c| self.codec(c)).transpose()?.flatten();
        let nullable = get("nullable").map(|n| self.bool(n)).transpose()?.unwrap_or(false);
        Ok(Field { name, dtype, shape, nullable, codec })
    }

    fn dtype(&self, id: Id) -> Result<FieldDType> {
        if let Some((module, name)) = self.global(id) {
            use FieldDType::*;
            let dtype = match (module, name) {
                ("numpy", name) => NUMPY_TYPES.iter().find(|(n, _)| *n == name).and_then(|(_, t)| *t),
                ("decimal", "Decimal") => Some(Decimal),
                ("builtins", "str" | "unicode") => Some(Str),
                ("builtins", "bytes") => Some(Bytes),
                ("builtins", "int" | "long") => Some(Int64),
                ("builtins", "float") => Some(Float64),
                ("builtins", "bool") => Some(Bool),
                _ => None,
            };
            return dtype.ok_or_else(|| bad(format!("unsupported numpy_dtype {module}.{name}")));
        }
        let o = self.object(id).map_err(|e| e.context("numpy_dtype"))?;
        if !o.is("numpy", "dtype") {
            return Err(bad(format!("unsupported numpy_dtype {}", o.full_name())));
        }
        let descr = o.args.first().map(|&d| self.short_text(d)).transpose()?;
        let descr = descr.ok_or_else(|| bad("numpy.dtype without a type"))?;
        let parsed = ArrayDType::parse(&descr).map_err(|e| bad(format!("numpy_dtype: {}", e.message())))?;
        use FieldDType::*;
        Ok(match (parsed.kind, parsed.itemsize) {
            (Kind::Bool, _) => Bool,
            (Kind::Int, 1) => Int8,
            (Kind::Int, 2) => Int16,
            (Kind::Int, 4) => Int32,
            (Kind::Int, _) => Int64,
            (Kind::UInt, 1) => UInt8,
            (Kind::UInt, 2) => UInt16,
            (Kind::UInt, 4) => UInt32,
            (Kind::UInt, _) => UInt64,
            (Kind::Float, 2) => Float16,
            (Kind::Float, 4) => Float32,
            (Kind::Float, _) => Float64,
            (Kind::Unicode, _) => Str,
            (Kind::Bytes, _) => Bytes,
        })
    }

    fn shape(&self, id: Id) -> Result<Vec<Option<usize>>> {
        let dims = self.sequence(id).ok_or_else(|| bad(format!("shape is {}, not a tuple", self.describe(id))))?;
        if dims.len() > MAX_DIMS {
            return Err(bad(format!("shape has {} dimensions, more than {MAX_DIMS}", dims.len())));
        }
        dims.iter()
            .map(|&d| match self.node(d) {
                Node::None => Ok(None),
                _ => {
                    let v = self.int(d)?;
                    usize::try_from(v).map(Some).map_err(|_| bad(format!("negative dimension {v} in shape")))
                }
            })
            .collect()
    }

    fn codec(&self, id: Id) -> Result<Option<Codec>> {
        if matches!(self.node(id), Node::None) {
            return Ok(None);
        }
        let o = self.object(id).map_err(|e| e.context("codec"))?;
        let attributes = self.attributes(&o, SMALL)?;
        if o.module != "petastorm.codecs" {
            return self.custom_codec(&o, &attributes).map(Some);
        }
        // An attribute by its name (or legacy name), else the constructor argument.
        let attr = |names: &[&str], position: usize| {
            names.iter().find_map(|n| attributes.get(n)).or_else(|| o.args.get(position).copied())
        };
        Ok(Some(match o.class {
            "ScalarCodec" => {
                let t =
                    attr(&["_spark_type", "spark_type"], 0).ok_or_else(|| bad("ScalarCodec without _spark_type"))?;
                Codec::Scalar { spark_type: self.spark_type(t)? }
            }
            "NdarrayCodec" => Codec::Ndarray,
            "CompressedNdarrayCodec" => Codec::CompressedNdarray,
            "CompressedImageCodec" => {
                let format = match attr(&["_image_codec", "image_codec"], 0) {
                    Some(f) => self.short_text(f)?,
                    None => "png".into(),
                };
                let format = match format.trim_start_matches('.').to_ascii_lowercase().as_str() {
                    "png" => ImageFormat::Png,
                    "jpeg" | "jpg" => ImageFormat::Jpeg,
                    other => return Err(bad(format!("unsupported image codec '{other}'"))),
                };
                let quality = match attr(&["_quality", "quality"], 1) {
                    Some(q) => self.int(q)?,
                    None => 80,
                };
                let quality =
                    u8::try_from(quality).map_err(|_| bad(format!("image quality {quality} out of range")))?;
                Codec::CompressedImage { format, quality }
            }
            other => return Err(bad(format!("unsupported codec petastorm.codecs.{other}"))),
        }))
    }

    /// A user's codec class: built without constructor arguments, with a plain-data state.
    fn custom_codec(&self, o: &Object, attributes: &Attributes) -> Result<Codec> {
        if !o.args.is_empty() || o.kwargs.is_some() || !o.items.is_empty() {
            return Err(bad(format!("unsupported codec {}: not a plain object with a state dict", o.full_name())));
        }
        let mut state = serde_json::Map::new();
        for &(k, v) in &attributes.pairs {
            let key = self.short_text(k)?;
            let value =
                self.plain(v, 0).map_err(|e| e.context(format_args!("codec {} attribute {key}", o.full_name())))?;
            state.insert(key, value);
        }
        Ok(Codec::Custom { module: o.module.into(), class: o.class.into(), state, spark_type: SparkType::Binary })
    }

    /// Plain data (None, bool, int, float, str, tuple, list, dict with str keys) as JSON.
    fn plain(&self, id: Id, depth: usize) -> Result<serde_json::Value> {
        use serde_json::Value;
        if depth > 16 {
            return Err(bad("nested more than 16 levels deep"));
        }
        Ok(match self.node(id) {
            Node::None => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::Float(f) => Value::Number(
                serde_json::Number::from_f64(*f).ok_or_else(|| bad(format!("float {f} has no JSON form")))?,
            ),
            Node::Str(s) => Value::String(s.clone()),
            Node::Tuple(items) | Node::List(items) if items.len() <= LARGE => {
                Value::Array(items.iter().map(|&v| self.plain(v, depth + 1)).collect::<Result<_>>()?)
            }
            Node::Dict(pairs) if pairs.len() <= LARGE => Value::Object(
                pairs
                    .iter()
                    .map(|&(k, v)| Ok((self.short_text(k)?, self.plain(v, depth + 1)?)))
                    .collect::<Result<_>>()?,
            ),
            _ => {
                return Err(bad(format!(
                    "{} is not plain data (None, bool, int, float, str, list, dict)",
                    self.describe(id)
                )))
            }
        })
    }

    fn spark_type(&self, id: Id) -> Result<SparkType> {
        let o = self.object(id).map_err(|e| e.context("Spark type"))?;
        let class = if o.module == "pyspark.sql.types" { o.class } else { "" };
        match SparkType::from_pyspark_class(class) {
            Some(t) => Ok(t),
            None if class == PYSPARK_DECIMAL_CLASS => {
                let attributes = self.attributes(&o, SMALL)?;
                let attr = |key: &str, position: usize, default: i64| -> Result<i64> {
                    let value = attributes.get(key).or_else(|| o.args.get(position).copied());
                    value.map_or(Ok(default), |v| self.int(v))
                };
                let (precision, scale) = (attr("precision", 0, 10)?, attr("scale", 1, 0)?);
                format!("decimal({precision},{scale})").parse().map_err(|e: Error| bad(e.message()))
            }
            _ => Err(bad(format!("unsupported Spark type {}", o.full_name()))),
        }
    }
}

/// An object's attributes as key/value nodes; the last setting of a key wins.
struct Attributes<'r, 'h> {
    reader: &'r Reader<'h>,
    pairs: Vec<(Id, Id)>,
}

impl Attributes<'_, '_> {
    fn get(&self, key: &str) -> Option<Id> {
        self.pairs.iter().rev().find(|(k, _)| self.reader.is_text(*k, key)).map(|(_, v)| *v)
    }
}
