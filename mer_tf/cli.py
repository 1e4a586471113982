"""The `mer` command.

Every subcommand lives in `mer_tf/commands/<name>.py` with two functions:
`add_arguments(parser)` (argparse only, no heavy imports) and `run(args) -> int`
(imports what it needs, calls one library function, prints). So `mer --help`
is instant and needs no TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# (words, module under mer_tf.commands, one-line help)
COMMANDS: list[tuple[tuple[str, ...], str, str]] = [
    (("model", "summary"), "model_summary", "print an ECCNN/baseline's layers, parameters and MACs"),
    (("data", "check"), "data_check", "check a dataset tree: samples, subjects, classes, quirks"),
    (("data", "synth"), "data_synth", "generate the synthetic micro-expression set"),
    (("train",), "train", "train a model with Keras fit"),
    (("evaluate",), "evaluate", "evaluate a trained model folder on a dataset"),
    (("loso",), "loso", "leave-one-subject-out evaluation (CNN, ECRL, fused)"),
    (("ablate",), "ablate", "the paper's Tables 1-3 in one run"),
    (("export",), "export", "export a trained model to TFLite variants"),
    (("compare",), "compare", "compare exported variants: accuracy, agreement, size, latency"),
    (("demo",), "demo", "the whole system end to end on the synthetic set"),
]


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def _available(module: str) -> bool:
    return importlib.util.find_spec(f"mer_tf.commands.{module}") is not None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mer",
        description="Micro-expression recognition after He & Kao: ECCNN + ECRL, TFLite export.",
        formatter_class=_Formatter,
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    top = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for words, module, help_text in COMMANDS:
        if not _available(module):
            continue
        mod = importlib.import_module(f"mer_tf.commands.{module}")
        if len(words) == 1:
            sub = top.add_parser(words[0], help=help_text, description=mod.__doc__, formatter_class=_Formatter)
        else:
            if words[0] not in groups:
                group = top.add_parser(words[0], help=f"{words[0]} commands", formatter_class=_Formatter)
                groups[words[0]] = group.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
                groups[words[0]].required = True
            sub = groups[words[0]].add_parser(
                words[1], help=help_text, description=mod.__doc__, formatter_class=_Formatter
            )
        mod.add_arguments(sub)
        sub.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    from mer_tf.quiet import quiet_libraries

    quiet_libraries(args.verbose)  # before TensorFlow or OpenCV loads; -v lets their lines through
    mod = importlib.import_module(f"mer_tf.commands.{args._module}")
    from mer_tf.cli_errors import run_reporting

    return run_reporting(lambda: mod.run(args), "mer", args.verbose, (ValueError, FileNotFoundError, RuntimeError))


if __name__ == "__main__":
    sys.exit(main())
