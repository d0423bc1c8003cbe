//! An inert pickle machine: it runs the opcodes of protocols 0–5 that plain data and
//! reduced objects use and builds a value tree in an arena. Nothing is ever called:
//! `GLOBAL`/`STACK_GLOBAL`/`INST` name a class or function only when it is on the
//! caller's allow-list, and `REDUCE`/`NEWOBJ`/`BUILD` just record what Python would do.
//! A global the list allows only [`Use::Bare`] may be constructed without arguments at most.
//!
//! Objects are arena nodes referred to by [`Id`], so the memo, the stack and containers
//! share them the way Python shares objects (`BUILD` on a memoized object is seen through
//! every reference). Size limits bound the input, the arena, the stack and the memo.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};

/// Index of a node in [`Heap::nodes`].
pub type Id = usize;

/// The largest pickle accepted.
pub const MAX_INPUT: usize = 16 << 20;
/// The most nodes one pickle may create.
const MAX_NODES: usize = 1 << 22;
/// The most values on the stack (and marks on the mark stack).
const MAX_STACK: usize = 1 << 20;
/// The most memo entries.
const MAX_MEMO: usize = 1 << 20;

/// One Python value, inert.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A unicode string.
    Str(String),
    /// A byte string (Python 2 `str`, Python 3 `bytes`/`bytearray`).
    Bytes(Vec<u8>),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    /// Key/value pairs in insertion order; a repeated key is stored again (the last wins).
    Dict(Vec<(Id, Id)>),
    Set(Vec<Id>),
    FrozenSet(Vec<Id>),
    /// An allow-listed `module.name` (module names normalized to Python 3's).
    Global {
        module: String,
        name: String,
    },
    /// What `class(*args, **kwargs)` (REDUCE, NEWOBJ, OBJ, INST) would build (`args`: a
    /// [`Node::Tuple`], shared rather than copied), plus the
    /// `BUILD` states and the items `SETITEM(S)`/`APPEND(S)`/`ADDITEMS` added to it.
    Object {
        class: Id,
        args: Id,
        kwargs: Option<Id>,
        states: Vec<Id>,
        items: Vec<(Id, Id)>,
        appended: Vec<Id>,
    },
}

/// The nodes of one pickle and the root the pickle returned.
#[derive(Debug)]
pub struct Heap {
    pub nodes: Vec<Node>,
    pub root: Id,
}

impl Heap {
    pub fn node(&self, id: Id) -> &Node {
        &self.nodes[id]
    }
}

/// Python 2 module names as Python 3 (`fix_imports`) knows them.
fn normalize_module(module: &str) -> &str {
    match module {
        "__builtin__" => "builtins",
        "copy_reg" => "copyreg",
        other => other,
    }
}

/// How the allow-list lets a pickle use a global.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Not at all.
    Denied,
    /// In any way.
    Any,
    /// Named, or constructed without arguments (a user's codec class: `cls.__new__(cls)`).
    Bare,
}

/// Runs `bytes` as a pickle; globals must pass `allowed(module, name)` (module normalized).
pub fn load(bytes: &[u8], allowed: &dyn Fn(&str, &str) -> Use) -> Result<Heap> {
    if bytes.len() > MAX_INPUT {
        return Err(Error::metadata(format!("pickle of {} bytes is larger than the {MAX_INPUT} allowed", bytes.len())));
    }
    let mut vm = Vm {
        data: bytes,
        pos: 0,
        nodes: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        allowed,
        bare: HashSet::new(),
    };
    let root = vm.run().map_err(|e| match e {
        Fail::Global(message) => Error::metadata(message),
        Fail::Invalid(message) => Error::metadata(format!("invalid pickle at byte {}: {message}", vm.pos)),
    })?;
    Ok(Heap { nodes: vm.nodes, root })
}

/// Why a run stopped: a disallowed global (reported as is) or anything else.
enum Fail {
    Global(String),
    Invalid(String),
}

type Step<T = ()> = std::result::Result<T, Fail>;

fn not_allowed(module: &str, name: &str) -> Fail {
    Fail::Global(format!("pickle references {module}.{name}, which is not allowed"))
}

fn invalid<T>(message: impl Into<String>) -> Step<T> {
    Err(Fail::Invalid(message.into()))
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    nodes: Vec<Node>,
    stack: Vec<Id>,
    /// Stack lengths at each MARK (CPython's mark stack).
    marks: Vec<usize>,
    memo: HashMap<u64, Id>,
    allowed: &'a dyn Fn(&str, &str) -> Use,
    /// The [`Use::Bare`] globals.
    bare: HashSet<Id>,
}

impl Vm<'_> {
    // ---- input ----

    fn take(&mut self, n: u64) -> Step<&[u8]> {
        let left = self.data.len() - self.pos;
        if n > left as u64 {
            return invalid(format!("needs {n} more bytes, {left} left"));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.data[start..self.pos])
    }

    fn byte(&mut self) -> Step<u8> {
        Ok(self.take(1)?[0])
    }

    fn le<const N: usize>(&mut self) -> Step<[u8; N]> {
        Ok(self.take(N as u64)?.try_into().expect("N bytes"))
    }

    fn u32(&mut self) -> Step<u64> {
        Ok(u32::from_le_bytes(self.le()?).into())
    }

    fn u64(&mut self) -> Step<u64> {
        Ok(u64::from_le_bytes(self.le()?))
    }

    /// A `\n`-terminated line, without the newline (and a trailing `\r`).
    fn line(&mut self) -> Step<&[u8]> {
        let rest = &self.data[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return invalid("line without a newline");
        };
        self.pos += n + 1;
        Ok(rest[..n].strip_suffix(b"\r").unwrap_or(&rest[..n]))
    }

    fn text_line(&mut self) -> Step<String> {
        let line = self.line()?;
        match std::str::from_utf8(line) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => invalid("line is not UTF-8"),
        }
    }

    // ---- stack, marks, memo, arena ----

    fn alloc(&mut self, node: Node) -> Step<Id> {
        if self.nodes.len() >= MAX_NODES {
            return invalid(format!("more than {MAX_NODES} objects"));
        }
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn push_id(&mut self, id: Id) -> Step {
        if self.stack.len() >= MAX_STACK {
            return invalid("stack too deep");
        }
        self.stack.push(id);
        Ok(())
    }

    fn push(&mut self, node: Node) -> Step {
        let id = self.alloc(node)?;
        self.push_id(id)
    }

    fn pop(&mut self) -> Step<Id> {
        if self.stack.len() <= self.fence() {
            return invalid("stack underflow");
        }
        Ok(self.stack.pop().expect("above the fence"))
    }

    fn top(&self) -> Step<Id> {
        if self.stack.len() <= self.fence() {
            return invalid("stack underflow");
        }
        Ok(*self.stack.last().expect("above the fence"))
    }

    fn mark(&mut self) -> Step {
        if self.marks.len() >= MAX_STACK {
            return invalid("too many marks");
        }
        self.marks.push(self.stack.len());
        Ok(())
    }

    /// The values pushed since the last MARK, which is removed.
    fn pop_mark(&mut self) -> Step<Vec<Id>> {
        let Some(at) = self.marks.pop() else {
            return invalid("no MARK to pop");
        };
        Ok(self.stack.split_off(at))
    }

    fn pop_n(&mut self, n: usize) -> Step<Vec<Id>> {
        if self.stack.len() < self.fence() + n {
            return invalid("stack underflow");
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn memo_put(&mut self, index: u64) -> Step {
        let top = self.top()?;
        if self.memo.len() >= MAX_MEMO && !self.memo.contains_key(&index) {
            return invalid(format!("more than {MAX_MEMO} memo entries"));
        }
        self.memo.insert(index, top);
        Ok(())
    }

    fn memo_get(&mut self, index: u64) -> Step {
        match self.memo.get(&index) {
            Some(&id) => self.push_id(id),
            None => invalid(format!("memo entry {index} is not set")),
        }
    }

    fn global(&mut self, module: &str, name: &str) -> Step<Id> {
        let module = normalize_module(module);
        let allowed = (self.allowed)(module, name);
        if allowed == Use::Denied {
            return Err(not_allowed(module, name));
        }
        let id = self.alloc(Node::Global { module: module.to_string(), name: name.to_string() })?;
        if allowed == Use::Bare {
            self.bare.insert(id);
        }
        Ok(id)
    }

    fn object(&mut self, class: Id, args: Id, kwargs: Option<Id>) -> Step {
        let Node::Tuple(items) = &self.nodes[args] else {
            return invalid("constructor arguments are not a tuple");
        };
        if self.bare.contains(&class) && (!items.is_empty() || kwargs.is_some()) {
            let Node::Global { module, name } = &self.nodes[class] else { unreachable!("bare ids are globals") };
            return Err(not_allowed(module, name));
        }
        self.push(Node::Object { class, args, kwargs, states: Vec::new(), items: Vec::new(), appended: Vec::new() })
    }

    fn set_items(&mut self, pairs: Vec<Id>) -> Step {
        if !pairs.len().is_multiple_of(2) {
            return invalid("odd number of items for SETITEMS");
        }
        let target = self.top()?;
        let pairs = pairs.chunks(2).map(|kv| (kv[0], kv[1]));
        match &mut self.nodes[target] {
            Node::Dict(entries) | Node::Object { items: entries, .. } => entries.extend(pairs),
            _ => return invalid("SETITEM(S) on a non-dict"),
        }
        Ok(())
    }

    fn append(&mut self, values: Vec<Id>, set: bool) -> Step {
        let target = self.top()?;
        match (&mut self.nodes[target], set) {
            (Node::List(items) | Node::Object { appended: items, .. }, false)
            | (Node::Set(items) | Node::Object { appended: items, .. }, true) => items.extend(values),
            _ => return invalid(if set { "ADDITEMS on a non-set" } else { "APPEND(S) on a non-list" }),
        }
        Ok(())
    }

    // ---- the machine ----

    fn run(&mut self) -> Step<Id> {
        loop {
            let at = self.pos;
            let op = self.byte()?;
            match op {
                b'.' => return self.pop(), // STOP
                b'(' => self.mark()?,      // MARK
                b'0' => {
                    // POP
                    if self.marks.last() == Some(&self.stack.len()) {
                        self.marks.pop();
                    } else {
                        self.pop()?;
                    }
                }
                b'1' => {
                    // POP_MARK
                    self.pop_mark()?;
                }
                b'2' => {
                    // DUP
                    let top = self.top()?;
                    self.push_id(top)?;
                }
                0x80 => {
                    // PROTO
                    let proto = self.byte()?;
                    if proto > 5 {
                        return invalid(format!("unsupported pickle protocol {proto}"));
                    }
                }
                0x95 => {
                    // FRAME (framing is only a hint)
                    self.u64()?;
                }
                b'N' => self.push(Node::None)?,
                0x88 => self.push(Node::Bool(true))?,  // NEWTRUE
                0x89 => self.push(Node::Bool(false))?, // NEWFALSE
                b'I' => {
                    // INT (I01/I00: booleans)
                    let node = match self.line()? {
                        b"01" => Node::Bool(true),
                        b"00" => Node::Bool(false),
                        text => Node::Int(parse_int(text)?),
                    };
                    self.push(node)?;
                }
                b'L' => {
                    // LONG
                    let line = self.line()?;
                    let value = parse_int(line.strip_suffix(b"L").unwrap_or(line))?;
                    self.push(Node::Int(value))?;
                }
                b'J' => {
                    // BININT
                    let v = i32::from_le_bytes(self.le()?);
                    self.push(Node::Int(v.into()))?;
                }
                b'K' => {
                    // BININT1
                    let v = self.byte()?;
                    self.push(Node::Int(v.into()))?;
                }
                b'M' => {
                    // BININT2
                    let v = u16::from_le_bytes(self.le()?);
                    self.push(Node::Int(v.into()))?;
                }
                0x8a => {
                    // LONG1
                    let n = self.byte()?;
                    let v = le_signed(self.take(n.into())?)?;
                    self.push(Node::Int(v))?;
                }
                0x8b => {
                    // LONG4
                    let n = i32::from_le_bytes(self.le()?);
                    if n < 0 {
                        return invalid("LONG4 with a negative length");
                    }
                    let v = le_signed(self.take(n as u64)?)?;
                    self.push(Node::Int(v))?;
                }
                b'F' => {
                    // FLOAT
                    let line = self.line()?;
                    let v = std::str::from_utf8(line).ok().and_then(|s| s.trim().parse::<f64>().ok());
                    let Some(v) = v else { return invalid("FLOAT is not a number") };
                    self.push(Node::Float(v))?;
                }
                b'G' => {
                    // BINFLOAT (big-endian)
                    let v = f64::from_be_bytes(self.le()?);
                    self.push(Node::Float(v))?;
                }
                b'S' => {
                    // STRING: a quoted Python 2 str literal
                    let line = self.line()?;
                    let inner = match line {
                        [q @ (b'\'' | b'"'), inner @ .., end] if end == q => inner,
                        _ => return invalid("STRING argument is not quoted"),
                    };
                    let bytes = escape_decode(inner);
                    self.push(Node::Bytes(bytes))?;
                }
                b'T' => {
                    // BINSTRING
                    let n = i32::from_le_bytes(self.le()?);
                    if n < 0 {
                        return invalid("BINSTRING with a negative length");
                    }
                    let bytes = self.take(n as u64)?.to_vec();
                    self.push(Node::Bytes(bytes))?;
                }
                b'U' | b'C' => {
                    // SHORT_BINSTRING, SHORT_BINBYTES
                    let n = self.byte()?;
                    let bytes = self.take(n.into())?.to_vec();
                    self.push(Node::Bytes(bytes))?;
                }
                b'B' => {
                    // BINBYTES
                    let n = self.u32()?;
                    let bytes = self.take(n)?.to_vec();
                    self.push(Node::Bytes(bytes))?;
                }
                0x8e | 0x96 => {
                    // BINBYTES8, BYTEARRAY8
                    let n = self.u64()?;
                    let bytes = self.take(n)?.to_vec();
                    self.push(Node::Bytes(bytes))?;
                }
                b'V' => {
                    // UNICODE (raw-unicode-escape)
                    let text = raw_unicode_escape(self.line()?)?;
                    self.push(Node::Str(text))?;
                }
                b'X' => {
                    // BINUNICODE
                    let n = self.u32()?;
                    let text = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.push(Node::Str(text))?;
                }
                0x8c => {
                    // SHORT_BINUNICODE
                    let n = self.byte()?;
                    let text = String::from_utf8_lossy(self.take(n.into())?).into_owned();
                    self.push(Node::Str(text))?;
                }
                0x8d => {
                    // BINUNICODE8
                    let n = self.u64()?;
                    let text = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.push(Node::Str(text))?;
                }
                b')' => self.push(Node::Tuple(Vec::new()))?, // EMPTY_TUPLE
                b't' => {
                    // TUPLE
                    let items = self.pop_mark()?;
                    self.push(Node::Tuple(items))?;
                }
                0x85..=0x87 => {
                    // TUPLE1, TUPLE2, TUPLE3
                    let items = self.pop_n(usize::from(op - 0x84))?;
                    self.push(Node::Tuple(items))?;
                }
                b']' => self.push(Node::List(Vec::new()))?, // EMPTY_LIST
                b'l' => {
                    // LIST
                    let items = self.pop_mark()?;
                    self.push(Node::List(items))?;
                }
                b'a' => {
                    // APPEND
                    let v = self.pop()?;
                    self.append(vec![v], false)?;
                }
                b'e' => {
                    // APPENDS
                    let items = self.pop_mark()?;
                    self.append(items, false)?;
                }
                b'}' => self.push(Node::Dict(Vec::new()))?, // EMPTY_DICT
                b'd' => {
                    // DICT
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return invalid("odd number of items for DICT");
                    }
                    let pairs = items.chunks(2).map(|kv| (kv[0], kv[1])).collect();
                    self.push(Node::Dict(pairs))?;
                }
                b's' => {
                    // SETITEM
                    let pair = self.pop_n(2)?;
                    self.set_items(pair)?;
                }
                b'u' => {
                    // SETITEMS
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
                }
                0x8f => self.push(Node::Set(Vec::new()))?, // EMPTY_SET
                0x90 => {
                    // ADDITEMS
                    let items = self.pop_mark()?;
                    self.append(items, true)?;
                }
                0x91 => {
                    // FROZENSET
                    let items = self.pop_mark()?;
                    self.push(Node::FrozenSet(items))?;
                }
                b'g' => {
                    // GET
                    let index = parse_index(self.line()?)?;
                    self.memo_get(index)?;
                }
                b'h' => {
                    // BINGET
                    let index = self.byte()?;
                    self.memo_get(index.into())?;
                }
                b'j' => {
                    // LONG_BINGET
                    let index = self.u32()?;
                    self.memo_get(index)?;
                }
                b'p' => {
                    // PUT
                    let index = parse_index(self.line()?)?;
                    self.memo_put(index)?;
                }
                b'q' => {
                    // BINPUT
                    let index = self.byte()?;
                    self.memo_put(index.into())?;
                }
                b'r' => {
                    // LONG_BINPUT
                    let index = self.u32()?;
                    self.memo_put(index)?;
                }
                0x94 => {
                    // MEMOIZE
                    let index = self.memo.len() as u64;
                    self.memo_put(index)?;
                }
                b'c' => {
                    // GLOBAL
                    let module = self.text_line()?;
                    let name = self.text_line()?;
                    let id = self.global(&module, &name)?;
                    self.push_id(id)?;
                }
                0x93 => {
                    // STACK_GLOBAL
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Node::Str(module), Node::Str(name)) = (&self.nodes[module], &self.nodes[name]) else {
                        return invalid("STACK_GLOBAL needs two str");
                    };
                    let (module, name) = (module.clone(), name.clone());
                    let id = self.global(&module, &name)?;
                    self.push_id(id)?;
                }
                b'R' => {
                    // REDUCE
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.object(callable, args, None)?;
                }
                0x81 => {
                    // NEWOBJ
                    let args = self.pop()?;
                    let class = self.pop()?;
                    self.object(class, args, None)?;
                }
                0x92 => {
                    // NEWOBJ_EX
                    let kwargs = self.pop()?;
                    if !matches!(self.nodes[kwargs], Node::Dict(_)) {
                        return invalid("NEWOBJ_EX keywords are not a dict");
                    }
                    let args = self.pop()?;
                    let class = self.pop()?;
                    self.object(class, args, Some(kwargs))?;
                }
                b'o' => {
                    // OBJ
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return invalid("OBJ without a class");
                    }
                    let class = items.remove(0);
                    let args = self.alloc(Node::Tuple(items))?;
                    self.object(class, args, None)?;
                }
                b'i' => {
                    // INST
                    let module = self.text_line()?;
                    let name = self.text_line()?;
                    let class = self.global(&module, &name)?;
                    let args = self.pop_mark()?;
                    let args = self.alloc(Node::Tuple(args))?;
                    self.object(class, args, None)?;
                }
                b'b' => {
                    // BUILD
                    let state = self.pop()?;
                    let target = self.top()?;
                    match &mut self.nodes[target] {
                        Node::Object { states, .. } => states.push(state),
                        _ => return invalid("BUILD on a value that is not an object"),
                    }
                }
                b'P' | b'Q' => return invalid("persistent ids are not supported"),
                0x82..=0x84 => return invalid("extension registry codes are not supported"),
                0x97 | 0x98 => return invalid("out-of-band buffers are not supported"),
                _ => {
                    self.pos = at;
                    return invalid(format!("unknown opcode 0x{op:02x}"));
                }
            }
        }
    }
}

/// A protocol-0 decimal integer (optional sign and surrounding spaces).
fn parse_int(text: &[u8]) -> Step<i64> {
    let parsed = std::str::from_utf8(text).ok().and_then(|s| s.trim().parse::<i64>().ok());
    match parsed {
        Some(v) => Ok(v),
        None => invalid(format!("'{}' is not an integer in the supported range", String::from_utf8_lossy(text))),
    }
}

fn parse_index(text: &[u8]) -> Step<u64> {
    match parse_int(text)? {
        v if v >= 0 => Ok(v as u64),
        v => invalid(format!("negative memo index {v}")),
    }
}

/// A little-endian two's complement integer (LONG1/LONG4) that fits an `i64`.
fn le_signed(bytes: &[u8]) -> Step<i64> {
    let Some(&last) = bytes.last() else { return Ok(0) };
    let fill = if last & 0x80 != 0 { 0xff } else { 0 };
    if bytes.len() > 8 {
        // Longer encodings fit only when every extra byte is sign extension.
        let sign_ok = bytes[7] & 0x80 == fill & 0x80;
        if !sign_ok || bytes[8..].iter().any(|&b| b != fill) {
            return invalid("integer out of the supported range");
        }
    }
    let mut buf = [fill; 8];
    let n = bytes.len().min(8);
    buf[..n].copy_from_slice(&bytes[..n]);
    Ok(i64::from_le_bytes(buf))
}

/// Python's `codecs.escape_decode` of a Python 2 str literal's inside.
fn escape_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        i += 1;
        if b != b'\\' || i == s.len() {
            out.push(b);
            continue;
        }
        let e = s[i];
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match s.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            b'x' => match s.get(i..i + 2).and_then(hex_value) {
                Some(v) => {
                    out.push(v as u8);
                    i += 2;
                }
                None => out.extend([b'\\', b'x']),
            },
            other => out.extend([b'\\', other]),
        }
    }
    out
}

/// The value of ASCII hex digits (no sign, no spaces).
fn hex_value(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |v, &d| Some(v * 16 + char::from(d).to_digit(16)?))
}

/// Python's `raw_unicode_escape` decoding: `\uXXXX`/`\UXXXXXXXX`, every other byte Latin-1.
fn raw_unicode_escape(s: &[u8]) -> Step<String> {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let digits = match (s[i], s.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            (b, _) => {
                out.push(char::from(b));
                i += 1;
                continue;
            }
        };
        let c = s.get(i + 2..i + 2 + digits).and_then(hex_value).and_then(char::from_u32);
        let Some(c) = c else { return invalid("bad \\u escape in UNICODE") };
        out.push(c);
        i += 2 + digits;
    }
    Ok(out)
}
