//! The Unischema as a protocol-4 pickle that upstream Petastorm (0.13.1) loads: the same
//! object graph upstream writes (`Unischema` state dict, `UnischemaField` namedtuples,
//! `petastorm.codecs` objects, `pyspark.sql.types` instances, NumPy scalar classes).

use std::collections::HashMap;

use super::{Codec, Field, FieldDType, SparkType, Unischema};
use crate::codec::ImageFormat;

/// Pickle opcodes used here (see CPython's `pickletools`).
mod op {
    pub const PROTO: u8 = 0x80;
    pub const STOP: u8 = b'.';
    pub const MARK: u8 = b'(';
    pub const NONE: u8 = b'N';
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const BININT2: u8 = b'M';
    pub const LONG1: u8 = 0x8a;
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const BINUNICODE: u8 = b'X';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const TUPLE: u8 = b't';
    pub const EMPTY_DICT: u8 = b'}';
    pub const SETITEMS: u8 = b'u';
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const EMPTY_LIST: u8 = b']';
    pub const APPENDS: u8 = b'e';
    pub const BINFLOAT: u8 = b'G';
    pub const REDUCE: u8 = b'R';
    pub const NEWOBJ: u8 = 0x81;
    pub const BUILD: u8 = b'b';
    pub const MEMOIZE: u8 = 0x94;
    pub const BINGET: u8 = b'h';
    pub const LONG_BINGET: u8 = b'j';
}

/// Names upstream's `Unischema.__init__` does not set as attributes (`hasattr` is true).
const UNISCHEMA_ATTRIBUTES: &[&str] = &[
    "_name",
    "_fields",
    "fields",
    "create_schema_view",
    "as_spark_schema",
    "make_namedtuple",
    "make_namedtuple_tf",
    "from_arrow_schema",
    "_get_namedtuple",
];

/// Pickles `schema` as upstream Petastorm does.
pub fn to_pickle(schema: &Unischema) -> Vec<u8> {
    let mut p = Pickler::default();
    p.out.extend([op::PROTO, 4]);
    p.new_object("petastorm.unischema", "Unischema");
    p.out.extend([op::EMPTY_DICT, op::MARK]);
    p.str("_name");
    p.str(schema.name());
    p.str("_fields");
    p.global("collections", "OrderedDict");
    p.out.extend([op::EMPTY_TUPLE, op::REDUCE, op::MARK]);
    let memo: Vec<u32> = schema
        .fields()
        .iter()
        .map(|f| {
            p.str(&f.name);
            p.field(f)
        })
        .collect();
    p.out.push(op::SETITEMS);
    for (f, id) in schema.fields().iter().zip(memo) {
        let dunder = f.name.starts_with("__") && f.name.ends_with("__");
        if !dunder && !UNISCHEMA_ATTRIBUTES.contains(&f.name.as_str()) {
            p.str(&f.name);
            p.get(id);
        }
    }
    p.out.extend([op::SETITEMS, op::BUILD, op::STOP]);
    p.out
}

/// An attribute name and the writer of its value.
type Attribute<'a> = (&'a str, &'a dyn Fn(&mut Pickler));

/// An opcode writer with a memo for globals and field objects.
#[derive(Default)]
struct Pickler {
    out: Vec<u8>,
    next_memo: u32,
    globals: HashMap<(&'static str, &'static str), u32>,
}

impl Pickler {
    fn memoize(&mut self) -> u32 {
        self.out.push(op::MEMOIZE);
        self.next_memo += 1;
        self.next_memo - 1
    }

    fn get(&mut self, id: u32) {
        match u8::try_from(id) {
            Ok(small) => self.out.extend([op::BINGET, small]),
            Err(_) => {
                self.out.push(op::LONG_BINGET);
                self.out.extend(id.to_le_bytes());
            }
        }
    }

    fn str(&mut self, s: &str) {
        match u8::try_from(s.len()) {
            Ok(len) => self.out.extend([op::SHORT_BINUNICODE, len]),
            Err(_) => {
                self.out.push(op::BINUNICODE);
                self.out.extend((s.len() as u32).to_le_bytes());
            }
        }
        self.out.extend(s.as_bytes());
    }

    fn int(&mut self, v: usize) {
        if let Ok(b) = u8::try_from(v) {
            self.out.extend([op::BININT1, b]);
        } else if let Ok(w) = u16::try_from(v) {
            self.out.push(op::BININT2);
            self.out.extend(w.to_le_bytes());
        } else if let Ok(i) = i32::try_from(v) {
            self.out.push(op::BININT);
            self.out.extend(i.to_le_bytes());
        } else {
            // LONG1: little-endian two's complement; a zero top byte keeps it positive.
            let mut bytes = (v as u64).to_le_bytes().to_vec();
            bytes.push(0);
            self.out.extend([op::LONG1, bytes.len() as u8]);
            self.out.extend(bytes);
        }
    }

    fn bool(&mut self, b: bool) {
        self.out.push(if b { op::NEWTRUE } else { op::NEWFALSE });
    }

    /// Pushes `module.name`, memoized so each class is written once.
    fn global(&mut self, module: &'static str, name: &'static str) {
        if let Some(&id) = self.globals.get(&(module, name)) {
            return self.get(id);
        }
        self.str(module);
        self.str(name);
        self.out.push(op::STACK_GLOBAL);
        let id = self.memoize();
        self.globals.insert((module, name), id);
    }

    /// `cls.__new__(cls)`, as pickle does for plain objects.
    fn new_object(&mut self, module: &'static str, name: &'static str) {
        self.global(module, name);
        self.out.extend([op::EMPTY_TUPLE, op::NEWOBJ]);
    }

    /// Sets the object's `__dict__` entries from `(key, write value)` pairs.
    fn build(&mut self, entries: &[Attribute]) {
        self.out.extend([op::EMPTY_DICT, op::MARK]);
        for (key, value) in entries {
            self.str(key);
            value(self);
        }
        self.out.extend([op::SETITEMS, op::BUILD]);
    }

    /// `UnischemaField(name, numpy_dtype, shape, codec, nullable)`; returns its memo id.
    fn field(&mut self, f: &Field) -> u32 {
        self.global("petastorm.unischema", "UnischemaField");
        self.out.push(op::MARK);
        self.str(&f.name);
        let (module, class) = numpy_class(f.dtype);
        self.global(module, class);
        self.shape(&f.shape);
        match &f.codec {
            None => self.out.push(op::NONE),
            Some(codec) => self.codec(codec),
        }
        self.bool(f.nullable);
        self.out.extend([op::TUPLE, op::NEWOBJ]);
        self.memoize()
    }

    /// A tuple of ints and `None`s.
    fn shape(&mut self, shape: &[Option<usize>]) {
        if shape.is_empty() {
            return self.out.push(op::EMPTY_TUPLE);
        }
        self.out.push(op::MARK);
        for d in shape {
            match d {
                Some(d) => self.int(*d),
                None => self.out.push(op::NONE),
            }
        }
        self.out.push(op::TUPLE);
    }

    fn codec(&mut self, codec: &Codec) {
        match *codec {
            Codec::Scalar { spark_type } => {
                self.new_object("petastorm.codecs", "ScalarCodec");
                self.build(&[("_spark_type", &|p: &mut Self| p.spark_type(spark_type))]);
            }
            Codec::Ndarray => self.new_object("petastorm.codecs", "NdarrayCodec"),
            Codec::CompressedNdarray => self.new_object("petastorm.codecs", "CompressedNdarrayCodec"),
            Codec::CompressedImage { format, quality } => {
                let extension = match format {
                    ImageFormat::Png => ".png",
                    ImageFormat::Jpeg => ".jpeg",
                };
                self.new_object("petastorm.codecs", "CompressedImageCodec");
                self.build(&[
                    ("_image_codec", &|p: &mut Self| p.str(extension)),
                    ("_quality", &|p: &mut Self| p.int(quality.into())),
                ]);
            }
            Codec::Custom { ref module, ref class, ref state, .. } => {
                // not memoized: the memo keeps `'static` names only
                self.str(module);
                self.str(class);
                self.out.extend([op::STACK_GLOBAL, op::EMPTY_TUPLE, op::NEWOBJ]);
                self.dict(state);
                self.out.push(op::BUILD);
            }
        }
    }

    /// A dict of plain data (a custom codec's state).
    fn dict(&mut self, entries: &serde_json::Map<String, serde_json::Value>) {
        self.out.extend([op::EMPTY_DICT, op::MARK]);
        for (key, value) in entries {
            self.str(key);
            self.plain(value);
        }
        self.out.push(op::SETITEMS);
    }

    /// `None`, a bool, number, str, list or dict.
    fn plain(&mut self, value: &serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::Null => self.out.push(op::NONE),
            Value::Bool(b) => self.bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) if i >= 0 => self.int(i as usize),
                (Some(i), _) => self.signed_long(i.into()),
                (None, Some(u)) => self.signed_long(u.into()),
                (None, None) => {
                    self.out.push(op::BINFLOAT);
                    self.out.extend(n.as_f64().unwrap_or(f64::NAN).to_be_bytes());
                }
            },
            Value::String(s) => self.str(s),
            Value::Array(items) => {
                self.out.extend([op::EMPTY_LIST, op::MARK]);
                items.iter().for_each(|v| self.plain(v));
                self.out.push(op::APPENDS);
            }
            Value::Object(entries) => self.dict(entries),
        }
    }

    /// LONG1 of any 64-bit integer (little-endian two's complement, 9 bytes).
    fn signed_long(&mut self, v: i128) {
        self.out.extend([op::LONG1, 9]);
        self.out.extend(&v.to_le_bytes()[..9]);
    }

    /// A `pyspark.sql.types` instance with the attributes its `__init__` would set.
    fn spark_type(&mut self, t: SparkType) {
        self.new_object("pyspark.sql.types", t.pyspark_class());
        match t {
            SparkType::Decimal { precision, scale } => self.build(&[
                ("precision", &|p: &mut Self| p.int(precision.into())),
                ("scale", &|p: &mut Self| p.int(scale.into())),
                ("hasPrecisionInfo", &|p: &mut Self| p.bool(true)),
            ]),
            // pyspark 4 reads `collation`; pyspark 3 ignores it.
            SparkType::String => self.build(&[("collation", &|p: &mut Self| p.str("UTF8_BINARY"))]),
            _ => {}
        }
    }
}

/// The Python class upstream stores as a field's `numpy_dtype`.
fn numpy_class(dtype: FieldDType) -> (&'static str, &'static str) {
    use FieldDType::*;
    let class = match dtype {
        Bool => "bool_",
        Str => "str_",
        Bytes => "bytes_",
        Decimal => return ("decimal", "Decimal"),
        numeric => numeric.name(),
    };
    ("numpy", class)
}
