//! The one error type of the crate, and the table that maps each kind to its
//! C status code, Java exception class and Python exception name.

use std::fmt;

/// What went wrong, independent of message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A value does not fit the schema (dtype, shape, nullability, missing or extra keys).
    Value,
    /// A value of the wrong Python/JVM type (e.g. a list given to a scalar codec).
    Type,
    /// Reading or writing bytes failed.
    Io,
    /// Dataset metadata is missing, unreadable or inconsistent.
    Metadata,
    /// Stored cell bytes could not be decoded into what the field declares.
    Decode,
    /// A read plan selected no data (e.g. a shard beyond the row groups).
    NoData,
    /// A bug or a caught panic.
    Internal,
}

/// One row of the error mapping table.
pub struct KindInfo {
    pub kind: ErrorKind,
    /// Status returned by the C ABI (0 is success).
    pub c_code: i32,
    /// JNI class name thrown on the JVM side.
    pub java_class: &'static str,
    /// Python exception class name (defined in `petastorm.errors` or a builtin).
    pub python_name: &'static str,
}

/// The single table mapping error kinds across languages.
pub const KIND_TABLE: &[KindInfo] = &[
    KindInfo {
        kind: ErrorKind::Value,
        c_code: 1,
        java_class: "java/lang/IllegalArgumentException",
        python_name: "ValueError",
    },
    KindInfo {
        kind: ErrorKind::Type,
        c_code: 2,
        java_class: "petastorm/errors/PetastormTypeException",
        python_name: "TypeError",
    },
    KindInfo {
        kind: ErrorKind::Io,
        c_code: 3,
        java_class: "petastorm/errors/PetastormIOException",
        python_name: "OSError",
    },
    KindInfo {
        kind: ErrorKind::Metadata,
        c_code: 4,
        java_class: "petastorm/errors/PetastormMetadataException",
        python_name: "PetastormMetadataError",
    },
    KindInfo {
        kind: ErrorKind::Decode,
        c_code: 5,
        java_class: "petastorm/errors/DecodeFieldException",
        python_name: "DecodeFieldError",
    },
    KindInfo {
        kind: ErrorKind::NoData,
        c_code: 6,
        java_class: "petastorm/errors/NoDataAvailableException",
        python_name: "NoDataAvailableError",
    },
    KindInfo {
        kind: ErrorKind::Internal,
        c_code: 7,
        java_class: "petastorm/errors/PetastormException",
        python_name: "PetastormInternalError",
    },
];

impl ErrorKind {
    /// This kind's row in [`KIND_TABLE`].
    pub fn info(self) -> &'static KindInfo {
        KIND_TABLE.iter().find(|i| i.kind == self).expect("every kind has a table row")
    }
}

/// An error with a kind and a human message (which names field, file, row group where known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// Crate-wide result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }
    pub fn value(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Value, message)
    }
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Type, message)
    }
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Io, message)
    }
    pub fn metadata(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Metadata, message)
    }
    pub fn decode(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Decode, message)
    }
    pub fn no_data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NoData, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefixes the message with where it happened, e.g. `field 'image1'` or
    /// `file 'part-0.parquet', row group 3`.
    pub fn context(mut self, place: impl fmt::Display) -> Self {
        self.message = format!("{place}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::io(e.to_string())
    }
}
