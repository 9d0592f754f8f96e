"""Run one coverage-guided fuzzer (atheris, libFuzzer underneath) on a pylondiag reader.

    .venv/bin/python tests/fuzz/run_fuzzer.py TARGET [--seconds N] [--corpus DIR] [--save-crashes]

TARGET is one of ``console``, ``inverter_log``, ``case_yaml``, ``upload`` (``fuzz_targets.TARGETS``).
The corpus starts from the seeds (real captures and examples, read in place) in a temporary directory
unless ``--corpus`` names one to keep between runs. pylondiag's modules are instrumented for coverage;
libFuzzer prints its progress (``cov:``, ``exec/s``) and, at the end, ``stat::number_of_executed_units``.

A crash (any exception other than ``PylondiagError``, a timeout of 10 s on one input, or more than 2 GB)
stops the run with libFuzzer's report; with ``--save-crashes`` the input is written to
``tests/fuzz/crashes/TARGET/`` so ``test_fuzzers.py`` replays it from then on. The test suite runs each
target for a few seconds; a longer run is documented in ``docs/fuzzing.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("target")
    parser.add_argument("--seconds", type=int, default=60, help="stop after this long (default 60)")
    parser.add_argument("--corpus", type=Path, help="corpus directory to grow (default: a temporary one)")
    parser.add_argument("--save-crashes", action="store_true", help="write crashing inputs to crashes/")
    parser.add_argument("--max-len", type=int, default=64 * 1024, help="longest input tried (bytes)")
    args, libfuzzer_args = parser.parse_known_args()

    sys.path.insert(0, str(HERE))
    import fuzz_targets

    if args.target not in fuzz_targets.TARGETS:
        parser.error(f"unknown target {args.target!r}; one of {', '.join(fuzz_targets.TARGETS)}")
    with atheris.instrument_imports(include=["pylondiag"]):
        target = fuzz_targets.load(args.target)
    corpus = args.corpus or Path(tempfile.mkdtemp(prefix=f"pylondiag-fuzz-{args.target}-"))
    corpus.mkdir(parents=True, exist_ok=True)
    for seed in fuzz_targets.seeds(args.target, args.max_len):
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    artifacts = fuzz_targets.CRASHES / args.target if args.save_crashes else Path(tempfile.mkdtemp())
    artifacts.mkdir(parents=True, exist_ok=True)

    atheris.Setup(
        [
            sys.argv[0],
            str(corpus),
            f"-max_total_time={args.seconds}",
            f"-max_len={args.max_len}",
            "-timeout=10",
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
            f"-artifact_prefix={artifacts}/",
            *libfuzzer_args,
        ],
        target,
    )
    atheris.Fuzz()


if __name__ == "__main__":
    main()
