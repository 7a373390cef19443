"""The one compiled module, srbench.eval._kernels (SSIM and luma; see bench/eval/_kernels.c); everything else is
declared in pyproject.toml.

Its values must be numpy's and scipy's bit for bit, so a multiply and an add are never contracted into one fused
operation (-ffp-contract=off; MSVC's default, /fp:precise, does not contract either) and fast-math is never on."""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

UNIX_FLAGS = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-std=c99"]
MSVC_FLAGS = ["/O2", "/fp:precise"]


class BuildKernels(build_ext):
    """build_ext with the flags of the compiler in use."""

    def build_extensions(self):
        flags = MSVC_FLAGS if self.compiler.compiler_type == "msvc" else UNIX_FLAGS
        for ext in self.extensions:
            ext.extra_compile_args = flags
        super().build_extensions()


setup(ext_modules=[Extension("srbench.eval._kernels", ["bench/eval/_kernels.c"])], cmdclass={"build_ext": BuildKernels})
