"""Unreadable data files reported with their path, the field and the fix.

The toolkits' loaders fail on broken data with messages that name nothing:

* a zero-byte image: ``cv2.error ... !buf.empty() in function 'imdecode_'``
  (mmcv's ``LoadImageFromFile``, used by mmpretrain, mmdet and mmseg; the
  same for segmentation maps in ``LoadAnnotations``);
* an ImageNet-style annotation line without a label: ``not enough values to
  unpack`` (mmpretrain's ``CustomDataset``);
* an unreadable video: decord's ``DECORDError`` without the file (mmaction2's
  ``DecordInit`` reads the bytes into memory first);
* a COCO json record without ``bbox`` / ``file_name``: a bare ``KeyError``
  (mmdet's ``CocoDataset``).

Each loader is wrapped so that such a failure becomes a
:class:`DataFileError` naming the file (and line, record id, field) and what
to do.  The wrappers add a ``try`` and nothing else on the normal path; the
original error stays chained as the cause.  Errors that already name their
file (``FileNotFoundError``, ...) pass unchanged.
"""
import functools
import os.path as osp
from typing import Callable, List, Optional, Tuple

from . import import_hooks


class DataFileError(ValueError):
    """A data or annotation file the pipeline cannot use (named, with the
    fix)."""


_FIX = ('replace the file, or remove it from the dataset\'s annotation '
        'file')


def _reason(kind: str, path: str, error: BaseException) -> str:
    if osp.isfile(path) and osp.getsize(path) == 0:
        return 'the file is empty (0 bytes)'
    lines = str(error).strip().splitlines()
    detail = f'{type(error).__name__}: {lines[-1]}' if lines else \
        type(error).__name__
    return f'not a readable {kind} ({detail})'


def unreadable_file(kind: str, path: str,
                    error: BaseException) -> DataFileError:
    """The error for a ``kind`` ('image', 'video', ...) at ``path`` that its
    loader could not decode."""
    return DataFileError(f'cannot read the {kind} {path!r}: '
                         f'{_reason(kind, path, error)}; {_FIX}.')


def _names_its_file(error: BaseException, path: str) -> bool:
    return isinstance(error, (DataFileError, OSError)) and path in str(error)


def _naming_path(method: Callable, kind: str,
                 path_of: Callable[..., Optional[str]]) -> Callable:
    """Wrap a loader method so that its failures name ``path_of(...)``."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as error:
            path = path_of(*args, **kwargs)
            if path is None or isinstance(error, DataFileError) or \
                    _names_its_file(error, str(path)):
                raise
            raise unreadable_file(kind, str(path), error) from error

    wrapper.__visrep_patched__ = True
    return wrapper


def _patch(cls: type, name: str, wrap: Callable[[Callable], Callable]) -> None:
    original = cls.__dict__.get(name)
    if original is None or getattr(original, '__visrep_patched__', False):
        return
    setattr(cls, name, wrap(original))


def _results_key(key: str) -> Callable[..., Optional[str]]:
    def path_of(results, *args, **kwargs):
        return results.get(key) if isinstance(results, dict) else None
    return path_of


def _video_path(filename, *args, **kwargs) -> str:
    # DecordInit._get_video_reader: a name without extension means '.mp4'
    return filename + '.mp4' if osp.splitext(filename)[0] == filename \
        else filename


# ------------------------------------------------------------------ images
def _patch_seg_map_loader(module) -> None:
    _patch(module.LoadAnnotations, '_load_seg_map',
           lambda m: _naming_path(m, 'segmentation map',
                                  _results_key('seg_map_path')))


def _patch_mmcv_loading(module) -> None:
    _patch(module.LoadImageFromFile, 'transform',
           lambda m: _naming_path(m, 'image', _results_key('img_path')))
    _patch_seg_map_loader(module)


# ------------------------------------------------------------------ videos
def _patch_mmaction_loading(module) -> None:
    _patch(module.DecordInit, '_get_video_reader',
           lambda m: _naming_path(m, 'video', _video_path))
    _patch(module.DecordDecode, 'transform',
           lambda m: _naming_path(m, 'video', _results_key('filename')))


# ------------------------------------------- ImageNet-style annotation lists
def bad_annotation_line(lines: List[str]) -> Optional[Tuple[int, str]]:
    """The first ``(line number, text)`` that is not ``<path> <int label>``
    (mmpretrain's ``CustomDataset`` splits each line at its last space)."""
    for number, line in enumerate(lines, start=1):
        parts = line.strip().rsplit(' ', 1)
        if len(parts) != 2:
            return number, line
        try:
            int(parts[1])
        except ValueError:
            return number, line
    return None


def _labelled_list_error(ann_file: str,
                         bad: Tuple[int, str]) -> DataFileError:
    number, line = bad
    what = 'is empty' if not line.strip() else \
        f'{line.strip()!r} is not "<image path> <integer label>"'
    return DataFileError(
        f'{ann_file}, line {number}: {what} (an ImageNet-style annotation '
        'file has one image per line: its path relative to data_prefix, a '
        'space, its class index). Add the label or remove the line; for a '
        'file list without labels set with_label=False.')


def _patch_mmpretrain_custom(module) -> None:
    from mmengine.fileio import list_from_file

    def wrap(load_data_list: Callable) -> Callable:
        @functools.wraps(load_data_list)
        def wrapper(self):
            try:
                return load_data_list(self)
            except ValueError as error:
                if isinstance(error, DataFileError) or not self.ann_file \
                        or not self.with_label:
                    raise
                bad = bad_annotation_line(list_from_file(self.ann_file))
                if bad is None:
                    raise
                raise _labelled_list_error(self.ann_file, bad) from error
        wrapper.__visrep_patched__ = True
        return wrapper

    _patch(module.CustomDataset, 'load_data_list', wrap)


# ------------------------------------------------------------ COCO json
#: what mmdet's CocoDataset.parse_data_info reads from each record
COCO_IMAGE_FIELDS = ('file_name', 'height', 'width')
COCO_ANNOTATION_FIELDS = ('bbox', 'area', 'category_id')
#: fields pycocotools' index reads (``COCO.createIndex``) besides those
COCO_INDEX_FIELDS = ('id', 'image_id', 'name')


def missing_coco_field(raw_img_info: dict,
                       raw_ann_info: List[dict]) -> Optional[str]:
    """Which record lacks which field, in words (None: all present)."""
    image_id = raw_img_info.get('img_id', raw_img_info.get('id'))
    for field in COCO_IMAGE_FIELDS:
        if field not in raw_img_info:
            return f'image id={image_id} has no {field!r}'
    for ann in raw_ann_info:
        if ann.get('ignore', False):
            continue
        for field in COCO_ANNOTATION_FIELDS:
            if field not in ann:
                return (f'annotation id={ann.get("id")} (image id='
                        f'{image_id}) has no {field!r}')
    return None


def _coco_error(ann_file: str, what: str) -> DataFileError:
    return DataFileError(
        f'{ann_file}: {what} field. COCO images need '
        f'{list(COCO_IMAGE_FIELDS)}, annotations need '
        f'{list(COCO_ANNOTATION_FIELDS)} (bbox as [x, y, width, height]); '
        'add it, or regenerate the json.')


def _patch_mmdet_coco(module) -> None:
    def wrap_parse(parse_data_info: Callable) -> Callable:
        @functools.wraps(parse_data_info)
        def wrapper(self, raw_data_info: dict):
            try:
                return parse_data_info(self, raw_data_info)
            except KeyError as error:
                what = missing_coco_field(raw_data_info['raw_img_info'],
                                          raw_data_info['raw_ann_info'])
                if what is None:
                    raise
                raise _coco_error(self.ann_file, what) from error
        wrapper.__visrep_patched__ = True
        return wrapper

    def wrap_load(load_data_list: Callable) -> Callable:
        @functools.wraps(load_data_list)
        def wrapper(self):
            try:
                return load_data_list(self)
            except KeyError as error:  # e.g. pycocotools' index building
                field = error.args[0] if error.args else None
                if field not in COCO_IMAGE_FIELDS + COCO_ANNOTATION_FIELDS + \
                        COCO_INDEX_FIELDS:
                    raise  # not a record field (e.g. data_prefix['img'])
                raise _coco_error(self.ann_file,
                                  f'a record has no {field!r}') from error
        wrapper.__visrep_patched__ = True
        return wrapper

    _patch(module.CocoDataset, 'parse_data_info', wrap_parse)
    _patch(module.CocoDataset, 'load_data_list', wrap_load)


def install() -> None:
    import_hooks.when_imported('mmcv.transforms.loading', _patch_mmcv_loading)
    import_hooks.when_imported('mmseg.datasets.transforms.loading',
                               _patch_seg_map_loader)
    import_hooks.when_imported('mmdet.datasets.transforms.loading',
                               _patch_seg_map_loader)
    import_hooks.when_imported('mmaction.datasets.transforms.loading',
                               _patch_mmaction_loading)
    import_hooks.when_imported('mmpretrain.datasets.custom',
                               _patch_mmpretrain_custom)
    import_hooks.when_imported('mmdet.datasets.coco', _patch_mmdet_coco)


install()
