"""Hooks: class lists from the datasets, class-prototype initialisation."""
from typing import List, Optional

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from visrep.registry import HOOKS
from .datasets import unwrap_dataset
from .text_classifier import dataset_eval_class_texts, text_classifiers


def _model(runner):
    model = runner.model
    return model.module if is_model_wrapper(model) else model


def _dataset_classes(loader, what: str) -> List[str]:
    dataset = unwrap_dataset(loader.dataset)
    if dataset is None:
        raise ValueError(
            f'the {what} dataset has no metainfo["classes"]; give the class '
            'names in the config (class_text.classes / '
            'test_class_text.classes).')
    return list(dataset.metainfo['classes'])


@HOOKS.register_module()
class ICARClassNamesHook(Hook):
    """Fills every text classifier whose ``classes`` is ``None`` with the
    class names of the dataset it runs on
    (``type='visrep.ICARClassNamesHook'``).

    Training classes come from the training set (the first of a
    ``ConcatDataset`` that has classes); evaluation classes from the
    validation / test set, so zero-shot evaluation on another dataset only
    needs that dataset's config.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        names = None
        for head in text_classifiers(_model(runner)):
            if head.class_text.from_dataset:
                names = names or _dataset_classes(runner.train_dataloader,
                                                  'training')
                head.class_text.set_classes(names)

    def _eval(self, runner, loader) -> None:
        names = None
        for target in dataset_eval_class_texts(_model(runner)):
            names = names or _dataset_classes(loader, 'evaluation')
            target.set_classes(names)

    def before_val_epoch(self, runner) -> None:
        self._eval(runner, runner.val_loop.dataloader)

    def before_test_epoch(self, runner) -> None:
        self._eval(runner, runner.test_loop.dataloader)


@HOOKS.register_module()
class ICARPrototypeInitHook(Hook):
    """Initialises the linear probe of ``visrep.ICAR`` with class prototypes
    before training (few-shot; ``type='visrep.ICARPrototypeInitHook'``).

    Args:
        source: ``'text'``: the template-ensemble text embeddings of the
            training classes (the probe starts as the zero-shot
            classifier); ``'image'``: the mean normalised image embedding of
            each class over the training set (one pass, summed over ranks).

    Needs ``linear.input='embedding'``; the bias starts at zero.  Skipped
    when training resumes.
    """

    priority = 'LOW'  # after ICARClassNamesHook

    def __init__(self, source: str = 'text'):
        if source not in ('text', 'image'):
            raise ValueError(f"source={source!r}: 'text' or 'image'.")
        self.source = source

    def before_train(self, runner) -> None:
        if runner.iter > 0:
            return
        model = _model(runner)
        if getattr(model, 'linear_input', None) != 'embedding':
            raise ValueError(
                'visrep.ICARPrototypeInitHook needs model.classifier='
                "'linear' with linear.input='embedding' (prototypes live in "
                'the joint space).')
        if self.source == 'text':
            weights = model.text_classifier.test_weights(
                model.text_classifier.class_text)
        else:
            weights = self._image_prototypes(runner, model)
        head = model.linear_head
        if weights.shape != head.weight.shape:
            raise ValueError(
                f'{len(weights)} class prototypes for a linear head of '
                f'{head.weight.shape[0]} classes: linear.num_classes must '
                'equal the number of training classes.')
        with torch.no_grad():
            head.weight.copy_(weights)
            if head.bias is not None:
                head.bias.zero_()
        runner.logger.info(f'linear probe initialised from {self.source} '
                           f'prototypes of {len(weights)} classes')

    @torch.no_grad()
    def _image_prototypes(self, runner, model) -> torch.Tensor:
        num = model.linear_head.weight.shape[0]
        sums: Optional[torch.Tensor] = None
        counts = torch.zeros(num)
        was_training = model.training
        model.eval()
        for batch in runner.train_dataloader:
            data = model.data_preprocessor(batch, False)
            emb = F.normalize(
                model.extract_feat(data['inputs'], 'embedding'), dim=-1)
            labels = torch.cat([s.gt_label for s in data['data_samples']])
            if sums is None:
                sums = emb.new_zeros(num, emb.shape[1])
            sums.index_add_(0, labels.to(emb.device), emb)
            counts += torch.bincount(labels.cpu(), minlength=num).float()
        model.train(was_training)
        counts = counts.to(sums.device)
        all_reduce(sums)
        all_reduce(counts)
        if (counts == 0).any():
            missing = (counts == 0).nonzero().flatten().tolist()
            raise ValueError(f'classes {missing} have no training sample: '
                             'no image prototype.')
        return F.normalize(sums / counts[:, None], dim=-1)
