"""Command-line options, each declared once: a dataclass field per option, turned into argparse.

As transformers' ``HfArgumentParser`` does, a field's name, type and default make the option and its
metadata gives the help (and, where the flag is not the field's name, the flag). A command adds the
dataclasses it takes (:func:`add_options`) and reads them back (:func:`options_from`); commands that
share options share the dataclass (:class:`ModelsOptions`, :class:`HeadsOptions`). Library dataclasses
that cannot carry CLI text (``training.train.TrainOptions``) get theirs from one table here,
:data:`TRAIN_FLAGS`, keyed by field name, so their names, types and defaults stay in the library.
"""
from __future__ import annotations

import argparse
import collections.abc
import dataclasses
import sys
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence, Union

from ..models.extra_models import ACCEPTED, DEFAULT_MAX_GB
from ..models.hub import HEADS_ENV, use_heads_repo
from ..models.registry import ModelSpec, get_model_spec, list_models, resolve_lineup
from ..training.finetune import LOSSES

REQUIRED = object()  # a field without a default: its option must be given


def option(default: Any = dataclasses.MISSING, *, help: str | Callable[[], str], flags: Sequence[str] = (),
           **argparse_kwargs: Any) -> Any:
    """A dataclass field that is also a command-line option.

    Args:
        default: the value when the option is not given (none: the option is required).
        help: the help text, or a function returning it when the parser is built (a list of model keys
            that ``--model-config`` can extend); the default is added to it.
        flags: the option's spellings, when not ``--field-name``.
        argparse_kwargs: anything else ``add_argument`` takes (``metavar``, ``choices``, ``type``...), and
            ``exclusive=NAME``: of the options sharing a NAME, at most one may be given; ``one_of=NAME``:
            exactly one.
    """
    if isinstance(default, list):  # a mutable default needs a factory
        return dataclasses.field(default_factory=lambda: list(default),
                                 metadata={"help": help, "flags": tuple(flags), **argparse_kwargs})
    return dataclasses.field(default=default, metadata={"help": help, "flags": tuple(flags), **argparse_kwargs})


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return REQUIRED


def _unwrap_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _shown(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def add_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type, *,
                only: Iterable[str] | None = None, defaults: Mapping[str, Any] | None = None,
                flags: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Add an option to ``parser`` for each field of the dataclass ``cls``.

    The field's type decides the kind: ``bool`` a switch (``--name``; ``--no-name`` when its default
    is True), a list or tuple one or more values, a ``Literal`` a choice, ``X | None`` an optional X.

    Args:
        only: the fields this command takes (default: all).
        defaults: this command's defaults where they differ from the field's.
        flags: CLI metadata by field name for a dataclass whose fields carry none (``TRAIN_FLAGS``).
    """
    hints = typing.get_type_hints(cls)
    wanted = None if only is None else set(only)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    unknown = (wanted or set()) - set(fields) | set(defaults or {}) - set(fields)
    if unknown:
        raise ValueError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
    for name, field in fields.items():
        if wanted is not None and name not in wanted:
            continue
        meta = dict((flags or {}).get(name, field.metadata))
        if "help" not in meta:
            raise ValueError(f"{cls.__name__}.{name} has no help: declare it with option() or in flags")
        default = (defaults or {}).get(name, _default(field))
        hint = _unwrap_optional(hints[name])
        origin = typing.get_origin(hint)
        kwargs: dict[str, Any] = {"dest": name}
        if hint is bool:
            kwargs["action"] = "store_false" if default is True else "store_true"
            spelled = f"--{'no-' if default is True else ''}{name.replace('_', '-')}"
        else:
            spelled = f"--{name.replace('_', '-')}"
            if origin is Literal:
                kwargs["choices"] = list(typing.get_args(hint))
            elif origin in (list, tuple, collections.abc.Sequence):
                kwargs["nargs"] = "+"
                kwargs["type"] = typing.get_args(hint)[0]
            else:
                kwargs["type"] = hint
        flag_list = meta.pop("flags", None) or (spelled,)
        help_text = meta.pop("help")
        help_text = help_text() if callable(help_text) else help_text
        if "action" not in kwargs and "choices" not in kwargs and "choices" not in meta:
            kwargs["metavar"] = flag_list[0].lstrip("-").upper().replace("-", "_")  # the flag's, not the field's
        kwargs.update(meta)
        if default is REQUIRED:
            kwargs["required"] = True
        else:
            kwargs["default"] = default
            if "action" not in kwargs and default is not None and _shown(default):
                help_text += f" (default: {_shown(default)})"  # argparse would show a list as ['a', 'b']
        one_of = kwargs.pop("one_of", None)  # options of one name: exactly one of them given
        exclusive = kwargs.pop("exclusive", None) or one_of  # ... or at most one
        if exclusive and exclusive not in groups:
            groups[exclusive] = parser.add_mutually_exclusive_group(required=bool(one_of))
        (groups[exclusive] if exclusive else parser).add_argument(*flag_list, help=help_text, **kwargs)


def options_from(args: argparse.Namespace, cls: type, **overrides: Any):
    """The ``cls`` that ``args`` holds: each field the parser has, the field's default for the rest."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    return cls(**{**values, **overrides})


class DeprecatedSpelling(argparse.Action):
    """An old spelling kept working for a while: stores into the new option's field and says so on stderr."""

    def __init__(self, option_strings, dest, field: str, instead: str, **kwargs):
        self.field, self.instead = field, instead
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        if values in (None, [], argparse.SUPPRESS):  # an absent positional is called with nothing
            return
        old = option_string or f"giving {self.field} without --{self.field.replace('_', '-')}"
        print(f"warning: {old} is deprecated; use {self.instead}", file=sys.stderr)
        setattr(namespace, self.field, values if isinstance(values, list) else [values])


def add_deprecated_spelling(parser: argparse.ArgumentParser, *flags: str, field: str, instead: str) -> None:
    """Accept ``flags`` (none: positional values) for the option of ``field``, hidden from --help, with a warning."""
    name = flags or (f"deprecated_{field}",)
    parser.add_argument(*name, field=field, instead=instead, action=DeprecatedSpelling,
                        nargs=None if flags else "*", help=argparse.SUPPRESS, default=argparse.SUPPRESS)


def positive_float(text: str) -> float:
    """argparse type: a number above 0, else a one-line usage error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1, else a one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


@dataclass
class ModelsOptions:
    """Which models a command runs: ``--models KEY [KEY ...]`` and the ``--model-config`` that adds some."""

    models: Sequence[str] = option(("all",), metavar="KEY", help=lambda: "model keys, or 'all' for every "
                                   f"registered model. Valid: {', '.join(list_models())}")
    model_config: str | None = option(None, metavar="FILE", help="JSON file adding or re-pointing models")

    def keys(self) -> list[str]:
        """The models' keys, after registering --model-config. Raises UnknownModelError or ConfigError."""
        return resolve_lineup(None if "all" in self.models else list(self.models), self.model_config)

    def specs(self) -> list[ModelSpec]:
        return [get_model_spec(key) for key in self.keys()]


@dataclass
class HeadsOptions:
    """Trained heads from a hub repo, for the commands that answer with heads."""

    heads: str | None = option(None, metavar="OWNER/REPO", help=(
        f"read REPO/<model key>/ from the hub for every model with no trained head in its local folder "
        f"(as ${HEADS_ENV}; `reproduce --out DIR` writes that layout)"))

    def apply(self) -> None:
        """Point this process at ``--heads`` (and the processes it starts). Raises ConfigError for a bad id."""
        use_heads_repo(self.heads)


@dataclass
class ExtraModelOptions:
    """Models from the hub beside the lineup, by id (``models/extra_models.py``), and how large one may be."""

    extra_model: list[str] = option([], metavar="ID", action="append", nargs=None, help=(
        f"also run a model from the hub, by id (repeatable, at most 3): {ACCEPTED}"))
    max_extra_model_gb: float = option(DEFAULT_MAX_GB, type=positive_float, metavar="GB", help=(
        "refuse an added model whose files on the hub are larger than this"))


@dataclass
class DataOptions:
    data: list[str] = option(metavar="CSV", help="films CSV(s) (id,title,year,genres,plot,poster), or .txt "
                             "lists of them; several are one pool, split by id")


# The CLI half of training.train.TrainOptions (names, types and defaults are there), shared by train,
# reproduce and evaluate: each takes the fields it needs.
_THESIS_GRID = "the thesis grid: batch 32/64/128 x lr 1e-2/1e-3/1e-4 x SGD/Adam/AdamW"
TRAIN_FLAGS: dict[str, dict[str, Any]] = {
    "head": {"choices": ["linear", "mlp"], "help": "head on the backbone's features"},
    "hidden": {"help": "MLP hidden size"},
    "dropout": {"help": "MLP dropout"},
    "batch_sizes": {"flags": ("--batch-size",), "help": "head batch size(s); several: a grid"},
    "lrs": {"flags": ("--lr",), "help": "head learning rate(s); several: a grid"},
    "optimizers": {"flags": ("--optimizer",), "choices": ["sgd", "adam", "adamw"], "help": "optimizer(s); several: a grid"},
    "thesis_grid": {"flags": ("--grid",), "help": _THESIS_GRID},
    "epochs": {"help": "head training epochs at most"},
    "patience": {"help": "early stopping: epochs without improvement"},
    "weight_decay": {"help": "head weight decay"},
    "seed": {"help": "training seed"},
    "split_seed": {"help": "seed of the train/val/test split by id"},
    "val_frac": {"help": "share of the films in the validation split"},
    "test_frac": {"help": "share of the films in the test split"},
    "finetune": {"help": "fine-tune the whole plot model (text models)"},
    "finetune_epochs": {"help": "epochs of fine-tuning with --finetune"},
    "backbone_lr": {"help": "backbone learning rate with --finetune"},
    "max_length": {"help": "token limit while fine-tuning (default: the model's)"},
    "loss": {"choices": list(LOSSES), "help": "fine-tuning loss: BCE, BCE with per-genre pos_weight, or asymmetric loss"},
    "layer_decay": {"help": "with --finetune: each transformer layer's lr is this times the one above's (1 = one lr)"},
    "finetune_patience": {"help": "with --finetune: stop after this many epochs without a better val micro-F1"},
    "cache_dir": {"type": str, "help": "feature cache folder"},
    "feature_batch_size": {"help": "films per batch when encoding features"},
    "num_workers": {"help": "DataLoader workers decoding posters"},
    "processes": {"type": positive_int, "help": "encode missing features in this many processes "
                  "(torch.distributed; a GPU each on a multi-GPU node); they share the cache"},
    "progress": {"help": "no progress bars"},
    "overwrite": {"help": "replace the head already in the model's own folder (the shipped one, for minilm)"},
}
# how features are encoded and cached: train and reproduce take all of these, evaluate the first two
FEATURE_FIELDS = ("cache_dir", "num_workers", "progress", "feature_batch_size", "processes")
SPLIT_FIELDS = ("split_seed", "val_frac", "test_frac")
