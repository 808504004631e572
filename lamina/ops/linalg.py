"""Products, norms and linear algebra (`ops.matmul`, `ops.einsum`, `ops.norm`, `ops.solve`, ...)."""

from __future__ import annotations

import warnings
from typing import Any

import torch

from lamina.ops._utils import check_axes
from lamina.ops.core import convert_to_tensor, tensors, to_float


def _promoted(x1: Any, x2: Any) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = tensors(x1, x2)
    dt = torch.promote_types(a.dtype, b.dtype)
    if dt == torch.bool:
        dt = torch.int32
    return a.to(dt), b.to(dt)


def matmul(x1: Any, x2: Any) -> torch.Tensor:
    """Matrix product with NumPy broadcasting rules (`x1 @ x2`).

    Args:
        x1: First tensor.
        x2: Second tensor.

    Example:
        >>> ops.matmul(ops.ones((2, 3)), ops.ones((3, 4))).shape
        torch.Size([2, 4])
    """
    a, b = _promoted(x1, x2)
    try:
        return torch.matmul(a, b)
    except RuntimeError as e:
        raise ValueError(
            "`ops.matmul` expects the last axis of `x1` to match the second-to-last of `x2`. "
            f"Received: x1.shape={tuple(a.shape)}, x2.shape={tuple(b.shape)}."
        ) from e


def dot(x1: Any, x2: Any) -> torch.Tensor:
    """NumPy's `dot`: the product of scalars, vectors, matrices or the last/second-to-last axes.

    Example:
        >>> ops.dot([1, 2], [3, 4])
        tensor(11, dtype=torch.int32)
    """
    a, b = _promoted(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim == 1:
        return torch.tensordot(a, b, dims=([-1], [0]))
    return torch.tensordot(a, b, dims=([-1], [b.ndim - 2]))


def tensordot(x1: Any, x2: Any, axes: Any = 2) -> torch.Tensor:
    """Sums products over the given axes (an int: the last `axes` of `x1` and first of `x2`).

    Example:
        >>> ops.tensordot(ops.ones((2, 3)), ops.ones((3, 4)), axes=1).shape
        torch.Size([2, 4])
    """
    a, b = _promoted(x1, x2)
    if not isinstance(axes, int):
        axes = [list(ax) if isinstance(ax, (list, tuple)) else [ax] for ax in axes]
    return torch.tensordot(a, b, dims=axes)


def einsum(subscripts: str, *operands: Any) -> torch.Tensor:
    """Evaluates an Einstein summation, e.g. `"ij,jk->ik"`.

    Example:
        >>> ops.einsum("i,i->", [1.0, 2.0], [3.0, 4.0])
        tensor(11.)
    """
    ts = tensors(*operands)
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = torch.promote_types(dt, t.dtype)
    return torch.einsum(subscripts, *[t.to(dt) for t in ts])


def outer(x1: Any, x2: Any) -> torch.Tensor:
    """Outer product of the flattened inputs.

    Example:
        >>> ops.outer([1, 2], [3, 4])
        tensor([[3, 4],
                [6, 8]], dtype=torch.int32)
    """
    a, b = _promoted(x1, x2)
    return torch.outer(a.reshape(-1), b.reshape(-1))


def inner(x1: Any, x2: Any) -> torch.Tensor:
    """Inner product over the last axes.

    Example:
        >>> ops.inner([1, 2], [3, 4])
        tensor(11, dtype=torch.int32)
    """
    a, b = _promoted(x1, x2)
    return torch.inner(a, b)


def vdot(x1: Any, x2: Any) -> torch.Tensor:
    """Dot product of the flattened inputs (conjugating `x1`).

    Example:
        >>> ops.vdot([[1, 2]], [[3, 4]])
        tensor(11, dtype=torch.int32)
    """
    a, b = _promoted(x1, x2)
    return torch.vdot(a.reshape(-1), b.reshape(-1))


def cross(x1: Any, x2: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: int | None = None) -> torch.Tensor:
    """Cross product of 3-vectors.

    Example:
        >>> ops.cross([1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        tensor([0., 0., 1.])
    """
    a, b = _promoted(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = torch.movedim(a, axisa, -1), torch.movedim(b, axisb, -1)
    a, b = torch.broadcast_tensors(a, b)
    return torch.movedim(torch.linalg.cross(a, b, dim=-1), -1, axisc)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A002
    """Vector or matrix norm, as `numpy.linalg.norm`.

    Args:
        x: Input tensor.
        ord: The norm order (`None` is the 2-norm of vectors and Frobenius of matrices,
            `"fro"`, `"nuc"`, `inf`, an int). Defaults to `None`.
        axis: An int (vector norm), a pair (matrix norm) or None (whole tensor
            flattened, as NumPy does for `ord=None`). Defaults to `None`.
        keepdims: Keep reduced axes with size 1. Defaults to `False`.

    Example:
        >>> ops.norm([3.0, 4.0])
        tensor(5.)
    """
    x = to_float(convert_to_tensor(x))
    axes = check_axes("norm", axis, x.ndim)
    if axes is None:
        if ord is None:
            out = torch.linalg.vector_norm(x, 2)
            return out.reshape((1,) * x.ndim) if keepdims else out
        axes = tuple(range(x.ndim))
    if len(axes) == 1:
        return torch.linalg.vector_norm(x, 2 if ord is None else ord, dim=axes, keepdim=keepdims)
    if len(axes) == 2:
        return torch.linalg.matrix_norm(x, "fro" if ord is None else ord, dim=axes, keepdim=keepdims)
    raise ValueError(
        f"`ops.norm` expects `axis` to name one axis (vector norm) or two (matrix norm). "
        f"Received: axis={axis}."
    )


def cholesky(x: Any) -> torch.Tensor:
    """Lower-triangular Cholesky factor of a symmetric positive-definite matrix.

    Example:
        >>> ops.cholesky([[4.0, 0.0], [0.0, 9.0]])
        tensor([[2., 0.],
                [0., 3.]])
    """
    return torch.linalg.cholesky(to_float(convert_to_tensor(x)))


def det(x: Any) -> torch.Tensor:
    """Determinant of (a batch of) square matrices.

    Example:
        >>> ops.det([[2.0, 0.0], [0.0, 3.0]])
        tensor(6.)
    """
    return torch.linalg.det(to_float(convert_to_tensor(x)))


def inv(x: Any) -> torch.Tensor:
    """Inverse of (a batch of) square matrices.

    Example:
        >>> ops.inv([[2.0, 0.0], [0.0, 4.0]])
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    return torch.linalg.inv(to_float(convert_to_tensor(x)))


def solve(a: Any, b: Any) -> torch.Tensor:
    """Solves `a @ x = b` for `x`.

    Example:
        >>> ops.solve([[2.0, 0.0], [0.0, 4.0]], [2.0, 4.0])
        tensor([1., 1.])
    """
    a, b = _promoted(a, b)
    return torch.linalg.solve(to_float(a), to_float(b))


def solve_triangular(a: Any, b: Any, lower: bool = False) -> torch.Tensor:
    """Solves `a @ x = b` for a triangular `a`.

    Example:
        >>> ops.solve_triangular([[2.0, 0.0], [1.0, 1.0]], [[2.0], [2.0]], lower=True)
        tensor([[1.],
                [1.]])
    """
    a, b = _promoted(a, b)
    vector = b.ndim == a.ndim - 1
    b = b.unsqueeze(-1) if vector else b
    out = torch.linalg.solve_triangular(to_float(a), to_float(b), upper=not lower)
    return out.squeeze(-1) if vector else out


def svd(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """Singular value decomposition `(u, s, vh)`, or just `s` when `compute_uv=False`.

    Example:
        >>> ops.svd([[3.0, 0.0], [0.0, 2.0]], compute_uv=False)
        tensor([3., 2.])
    """
    x = to_float(convert_to_tensor(x))
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return tuple(torch.linalg.svd(x, full_matrices=full_matrices))


def qr(x: Any, mode: str = "reduced") -> tuple[torch.Tensor, torch.Tensor]:
    """QR decomposition; `mode` is `"reduced"` or `"complete"`. Defaults to `"reduced"`.

    Example:
        >>> q, r = ops.qr([[1.0, 0.0], [0.0, 1.0]])
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(
            f"`ops.qr` expects `mode` to be 'reduced' or 'complete'. Received: mode={mode!r}."
        )
    return tuple(torch.linalg.qr(to_float(convert_to_tensor(x)), mode=mode))


def eig(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues and right eigenvectors of a square matrix (complex).

    Example:
        >>> w, v = ops.eig([[2.0, 0.0], [0.0, 1.0]])
    """
    return tuple(torch.linalg.eig(to_float(convert_to_tensor(x))))


def eigh(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix.

    Example:
        >>> w, v = ops.eigh([[2.0, 0.0], [0.0, 1.0]])
        >>> w
        tensor([1., 2.])
    """
    return tuple(torch.linalg.eigh(to_float(convert_to_tensor(x))))


def lstsq(a: Any, b: Any, rcond: float | None = None) -> torch.Tensor:
    """Least-squares solution of `a @ x = b`.

    Example:
        >>> ops.lstsq([[1.0], [1.0]], [1.0, 3.0]).round(decimals=4)
        tensor([2.])
    """
    a, b = _promoted(a, b)
    a, b = to_float(a), to_float(b)
    vector = b.ndim == 1
    b = b.unsqueeze(-1) if vector else b
    out = torch.linalg.pinv(a, rtol=rcond) @ b if rcond is not None else torch.linalg.pinv(a) @ b
    return out.squeeze(-1) if vector else out


def logdet(x: Any) -> torch.Tensor:
    """Log-determinant of a positive-definite matrix.

    Example:
        >>> ops.logdet([[1.0, 0.0], [0.0, 1.0]])
        tensor(0.)
    """
    return torch.logdet(to_float(convert_to_tensor(x)))


def kron(x1: Any, x2: Any) -> torch.Tensor:
    """Kronecker product.

    Example:
        >>> ops.kron([1, 2], [1, 10])
        tensor([ 1, 10,  2, 20], dtype=torch.int32)
    """
    a, b = _promoted(x1, x2)
    return torch.kron(a, b)


def slogdet(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Sign and natural log of the absolute determinant.

    Example:
        >>> ops.slogdet([[-2.0, 0.0], [0.0, 1.0]])
        (tensor(-1.), tensor(0.6931))
    """
    return tuple(torch.linalg.slogdet(to_float(convert_to_tensor(x))))


def cholesky_inverse(x: Any, upper: bool = False) -> torch.Tensor:
    """Inverse of a matrix from its Cholesky factor `x` (lower unless `upper`).

    Example:
        >>> low = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
        >>> torch.allclose(ops.cholesky_inverse(low), torch.linalg.inv(low @ low.T))
        True
    """
    return torch.cholesky_inverse(to_float(convert_to_tensor(x)), upper=upper)


def lu_factor(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """LU factorisation with partial pivoting: `(lu, pivots)` as SciPy's `lu_factor` (0-based pivots).

    Example:
        >>> lu, pivots = ops.lu_factor([[1.0, 2.0], [3.0, 4.0]])
    """
    lu, pivots = torch.linalg.lu_factor(to_float(convert_to_tensor(x)))
    return lu, (pivots - 1).to(torch.int32)


def jvp(fun: Any, primals: Any, tangents: Any, has_aux: bool = False) -> Any:
    """Jacobian-vector product of `fun` at `primals` along `tangents` (forward mode).

    Returns `(outputs, jvp_out)`, plus `aux` when `has_aux`.

    Example:
        >>> out, t = ops.jvp(lambda x: x ** 2, (torch.tensor(3.0),), (torch.tensor(1.0),))
        >>> t
        tensor(6.)
    """
    with warnings.catch_warnings():  # torch.func's first use scripts a helper, which warns
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=DeprecationWarning)
        return torch.func.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)
