//! Interoperation with NumPy itself, through the project venv's Python (the test fails without
//! it; `PETASTORM_PYTHON` names another): NumPy-written NPY (v1/v2/v3, both endians, Fortran order) and NPZ files
//! decode to the right values; our NPY bytes equal `numpy.save`'s; `numpy.load` reads our NPZ.

mod common;

use petastorm_native::codec::{npy, npz, Expect, TensorRef};
use petastorm_native::dtype::ArrayDType;

/// Writes, for each case NAME: NAME.v{1,2,3}.npy and NAME.npz as NumPy writes them,
/// NAME.mem (the array's memory, Fortran order if it is), NAME.le (C-order little-endian
/// bytes) and NAME.json (descr, shape, fortran flag).
const GENERATE: &str = r#"
import io, json, sys, numpy as np
from numpy.lib import format as fmt
out = sys.argv[1]
rng = np.random.default_rng(0)
def arr(descr, shape):
    dt = np.dtype(descr)
    n = int(np.prod(shape))
    if dt.kind in 'US':
        vals = np.array(['ab', '', 'héllo'[:dt.itemsize // (4 if dt.kind == 'U' else 1)], 'x'] * n)[:n]
        if dt.kind == 'S':
            vals = np.array([v.encode('ascii', 'replace') for v in vals])
        return vals.astype(dt).reshape(shape)
    if dt.kind == 'b':
        return (rng.integers(0, 2, n) == 1).reshape(shape)
    return (rng.random(n) * 200 - 100 if dt.kind == 'f' else rng.integers(0, 100, n)).astype(dt).reshape(shape)
cases = {}
for descr in ['|b1', '|i1', '<i2', '<i4', '<i8', '|u1', '<u2', '<u4', '<u8', '<f2', '<f4', '<f8', '<U7', '|S5',
              '>i2', '>u4', '>f4', '>f8', '>U3']:
    for shape in [(3, 4), (), (0, 5), (2, 3, 4)]:
        cases[f"{descr[1:]}_{descr[0] == '>'}_{'x'.join(map(str, shape))}"] = arr(descr, shape)
for descr in ['<f4', '>i8', '|u1', '<U2']:
    cases[f"fortran_{descr[1:]}_{descr[0] == '>'}"] = np.asfortranarray(arr(descr, (3, 4, 2)))
cases["ones_36d"] = np.ones((1,) * 36, dtype='<i2')
for name, a in cases.items():
    for version in [(1, 0), (2, 0), (3, 0)]:
        with open(f"{out}/{name}.v{version[0]}.npy", "wb") as f:
            fmt.write_array(f, a, version=version)
    np.savez_compressed(f"{out}/{name}.npz", arr=a)
    fortran = bool(a.flags.f_contiguous and not a.flags.c_contiguous)
    open(f"{out}/{name}.mem", "wb").write(a.tobytes(order='F' if fortran else 'C'))
    le = a.astype(a.dtype.newbyteorder('<')) if a.dtype.byteorder == '>' else a
    open(f"{out}/{name}.le", "wb").write(np.ascontiguousarray(le).tobytes())
    json.dump({"descr": a.dtype.str, "shape": a.shape, "fortran": fortran}, open(f"{out}/{name}.json", "w"))
"#;

/// Loads every NAME.ours.npz with numpy.load and compares it with NAME.v1.npy.
const CHECK: &str = r#"
import glob, sys, numpy as np
names = sorted(p[:-len('.ours.npz')] for p in glob.glob(sys.argv[1] + '/*.ours.npz'))
assert names
for name in names:
    ours = np.load(name + '.ours.npz')
    assert ours.files == ['arr'], ours.files
    theirs = np.load(name + '.v1.npy')
    got = ours['arr']
    assert got.dtype == theirs.dtype and got.shape == theirs.shape, (name, got.dtype, got.shape)
    assert np.array_equal(got, theirs), name
print(len(names))
"#;

#[test]
fn numpy_files_and_ours_interoperate() {
    let dir = std::env::temp_dir().join(format!("petastorm-codec-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    common::run_python(GENERATE, &[&dir]);

    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.with_extension("");
        let file = |ext: &str| std::fs::read(format!("{}.{ext}", name.display())).unwrap();
        let meta: serde_json::Value = serde_json::from_slice(&file("json")).unwrap();
        let dtype = ArrayDType::parse(meta["descr"].as_str().unwrap()).unwrap();
        let shape: Vec<usize> =
            meta["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        let fixed: Vec<Option<usize>> = shape.iter().map(|d| Some(*d)).collect();
        let expect = Expect { kind: dtype.kind, itemsize: Some(dtype.itemsize), shape: &fixed };
        let le = file("le");

        for decoded in ["v1.npy", "v2.npy", "v3.npy"]
            .map(|v| npy::decode(&file(v), &expect))
            .into_iter()
            .chain([npz::decode(&file("npz"), &expect)])
        {
            let decoded = decoded.unwrap_or_else(|e| panic!("{}: {e}", name.display()));
            assert_eq!(
                (decoded.dtype, &decoded.shape, decoded.fortran_order),
                (dtype.to_little_endian(), &shape, false)
            );
            assert!(decoded.data == le, "{} decodes to other data", name.display());
        }

        let mem = file("mem");
        let t = TensorRef { dtype, shape: &shape, fortran_order: meta["fortran"].as_bool().unwrap(), data: &mem };
        assert!(npy::encode(&t).unwrap() == file("v1.npy"), "{}: NPY bytes differ from numpy.save", name.display());
        std::fs::write(format!("{}.ours.npz", name.display()), npz::encode(&t).unwrap()).unwrap();
        cases += 1;
    }
    assert_eq!(common::run_python(CHECK, &[&dir]).trim(), cases.to_string());
    std::fs::remove_dir_all(&dir).unwrap();
}
