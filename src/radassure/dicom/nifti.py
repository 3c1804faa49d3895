"""NIfTI masks (as many auto-contouring tools write them), through nibabel."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from radassure.dicom._common import PathLike
from radassure.errors import DataValidationError, InputProblem

__all__ = ["read_nifti"]

# DICOM's patient axes: +x towards the patient's Left, +y Posterior, +z Superior.
_LPS = ("L", "P", "S")


def _reject(path: PathLike, message: str) -> DataValidationError:
    return DataValidationError([InputProblem(str(path), None, None, message)])


def read_nifti(
    path: PathLike, *, label: int | None = None
) -> tuple[NDArray[np.bool_], tuple[float, float, float]]:
    """Read a NIfTI mask in radassure's (z, y, x) order with its voxel size.

    The array is permuted and flipped (never resampled) to the axis directions
    closest to DICOM's patient axes, then ordered (z, y, x): axis 0 runs
    towards Superior, axis 1 towards Posterior, axis 2 towards the patient's
    Left. That is the layout of an axial DICOM series sorted along its normal
    (:func:`load_image_series`), so a NIfTI written from that series (by
    dcm2niix, for example, which stores it flipped to RAS+) lines up with masks
    rasterised from its RTSTRUCT voxel by voxel.

    Parameters
    ----------
    path : path
        A ``.nii`` or ``.nii.gz`` file holding a 3-D image (or 4-D with one volume).
    label : int, optional
        Select one label of a label map (``data == label``). Without it the
        data must be binary (only 0 and 1).

    Returns
    -------
    mask : ndarray of bool, (z, y, x)
    spacing : tuple of 3 floats
        Voxel size in mm along (z, y, x).

    Raises
    ------
    DataValidationError
        If the file cannot be read as NIfTI, is not 3-D, or holds values other
        than 0 and 1 while ``label`` is not given.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import nibabel as nib, numpy as np
    >>> xyz = np.zeros((4, 3, 2), dtype=np.uint8)  # NIfTI's (x, y, z) in RAS+
    >>> xyz[0, 0, 1] = 1  # RAS+ index 0: the leftmost, most posterior voxel, top slice
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "mask.nii.gz"
    ...     nib.save(nib.Nifti1Image(xyz, np.diag([0.8, 0.9, 2.5, 1.0])), path)
    ...     mask, spacing = read_nifti(path)
    >>> mask.shape, spacing, np.argwhere(mask).tolist()  # in LPS it has the highest y, x
    ((2, 3, 4), (2.5, 0.9, 0.8), [[1, 2, 3]])

    """
    import nibabel as nib  # imported here: only NIfTI users pay for it

    try:
        image = nib.load(path)
        data = np.asanyarray(image.dataobj)  # type: ignore[attr-defined]
        affine = np.asarray(image.affine, dtype=np.float64)  # type: ignore[attr-defined]
    except Exception as exc:  # nibabel raises ImageFileError, OSError, EOFError...
        raise _reject(path, f"the file could not be read as NIfTI ({exc}).") from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise _reject(path, f"the image has shape {data.shape}; a 3-D mask is needed.")
    if label is not None:
        mask = np.asarray(data == label, dtype=bool)
    else:
        values = np.unique(data)
        if not np.all(np.isin(values, (0, 1))):
            shown = ", ".join(f"{v:g}" for v in values[:6].astype(float))
            raise _reject(
                path,
                f"the mask holds the values {shown}{' ...' if values.size > 6 else ''}, not "
                "only 0 and 1. Pass label= to select one structure of a label map.",
            )
        mask = np.asarray(data != 0, dtype=bool)
    orient = nib.orientations
    current = orient.io_orientation(affine)  # type: ignore[no-untyped-call]
    transform = orient.ornt_transform(current, orient.axcodes2ornt(_LPS))  # type: ignore[no-untyped-call]
    mask = orient.apply_orientation(mask, transform).astype(bool)  # type: ignore[no-untyped-call]
    reoriented = affine @ orient.inv_ornt_aff(transform, data.shape)  # type: ignore[no-untyped-call]
    # NIfTI stores the affine in float32: report the shortest decimal each value stands
    # for (0.9, not 0.8999999761581421), as the writer meant it.
    zooms = [float(str(np.float32(z))) for z in np.linalg.norm(reoriented[:3, :3], axis=0)]
    spacing = (zooms[2], zooms[1], zooms[0])
    return np.ascontiguousarray(mask.transpose(2, 1, 0)), spacing
