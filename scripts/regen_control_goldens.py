#!/usr/bin/env python3
"""Regenerates the ngspice reference outputs of the control-language decks.

For every deck tests/data/control/**/*.cir this runs `ngspice -b deck.cir` in a fresh
directory and stores, beside the deck:

  <deck>.ngspice.out       what ngspice printed on stdout, after its preamble
                           ("Note: ...", "Circuit: <title>") is cut off;
  <deck>.ngspice/<file>    every file the deck wrote (wrdata, write, `>` redirection).

The control blocks of the decks in tests/data/control need no circuit analysis, so these are
the outputs of ngspice's interpreter alone; the decks in tests/data/control/engine run
analyses and write their results (meas values, operating points) to files. tests/control.rs
compares neurospice with them (dates masked; engine results within the tolerance each deck
states on its first line). ngspice is needed only here, never by the tests.

Usage: scripts/regen_control_goldens.py [--check] [deck ...]
  --check   compare with the committed files instead of writing them (exit 1 on a change)
"""

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "control"


def ngspice_version():
    out = subprocess.run(["ngspice", "-v"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "ngspice-" in line:
            return line.strip("* \n")
    return "unknown"


def strip_preamble(text):
    """Drops everything up to the `Circuit: <title>` line and the blank line after it."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("Circuit: "):
            rest = lines[i + 1:]
            if rest and rest[0] == "":
                rest = rest[1:]
            return "\n".join(rest)
    raise SystemExit("ngspice printed no 'Circuit:' line; did the deck load?")


def run(deck):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        shutil.copy(deck, tmp / deck.name)
        for extra in deck.parent.glob(deck.stem + ".aux.*"):
            shutil.copy(extra, tmp / extra.name[len(deck.stem) + 5:])
        before = set(p.name for p in tmp.iterdir())
        proc = subprocess.run(
            ["ngspice", "-b", deck.name],
            cwd=tmp,
            capture_output=True,
            timeout=120,
        )
        out = strip_preamble(proc.stdout.decode("latin-1"))
        files = {}
        for p in sorted(tmp.iterdir()):
            if p.name not in before and p.is_file():
                files[p.name] = p.read_bytes()
        return out, files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("decks", nargs="*")
    a = ap.parse_args()
    decks = [pathlib.Path(d) for d in a.decks] or sorted(DATA.glob("**/*.cir"))
    changed = []
    for deck in decks:
        out, files = run(deck)
        expect = {deck.with_suffix(".ngspice.out"): out.encode("latin-1")}
        fdir = deck.parent / (deck.stem + ".ngspice")
        for name, data in files.items():
            expect[fdir / name] = data
        if a.check:
            for path, data in expect.items():
                if not path.exists() or path.read_bytes() != data:
                    changed.append(str(path))
            continue
        if fdir.exists():
            shutil.rmtree(fdir)
        for path, data in expect.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        print(f"{deck.name}: {len(out.splitlines())} lines, {len(files)} file(s)")
    if a.check:
        if changed:
            print("differs from the committed goldens:\n  " + "\n  ".join(changed))
            sys.exit(1)
        print("goldens up to date")
    else:
        (DATA / "NGSPICE_VERSION").write_text(ngspice_version() + "\n")


if __name__ == "__main__":
    main()
