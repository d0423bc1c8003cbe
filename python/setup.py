"""Builds the native library with cargo (setuptools-rust, no Python binding) and puts it in the
package as ``petastorm/_lib/libpetastorm_native.so``, where the ctypes loader looks for it.

The wheel is tagged ``py3-none-<platform>``: ctypes needs no CPython ABI, so one wheel serves every
Python version. All other metadata lives in ``pyproject.toml``. The crate is ``../native`` (an
in-tree build of this checkout: ``pip wheel python/``, ``pip install python/``, ``pip install -e python``).
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools_rust import Binding, RustExtension, build_rust

LIBRARY = 'libpetastorm_native.so'


class build_native(build_rust):
    """Names the built library as the loader expects, without a CPython ABI suffix."""

    def get_dylib_ext_path(self, ext, target_fname):
        return str(Path(super().get_dylib_ext_path(ext, target_fname)).with_name(LIBRARY))


class bdist_any_python(bdist_wheel):
    """Tags the wheel for any Python 3 on this platform (the library is loaded with ctypes)."""

    def get_tag(self):
        _, _, platform = super().get_tag()
        return 'py3', 'none', platform


setup(
    rust_extensions=[
        RustExtension(
            'petastorm._lib.libpetastorm_native',
            path=str(Path(__file__).resolve().parent.parent / 'native' / 'Cargo.toml'),
            binding=Binding.NoBinding,
            debug=False,  # release also for editable installs (scripts/build.sh): tests and the jar use it
            # Both crate types, as `cargo build` makes them: the build shares target/ with cargo and
            # Maven without recompiling the crate.
            args=['--crate-type', 'cdylib,rlib'],
        )
    ],
    cmdclass={'build_rust': build_native, 'bdist_wheel': bdist_any_python},
    zip_safe=False,
)
