"""A pretend UCI engine for failure tests: plays the first legal move, then crashes or hangs.

Usage: ``python fake_uci.py MODE COUNTER GOOD``. It answers ``GOOD`` searches in all (counted in the file
``COUNTER`` across restarts); after that, at every ``go`` MODE ``crash`` exits and ``hang`` never answers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import chess


def main() -> None:
    mode, counter, good = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    board = chess.Board()
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "uci":
            print("id name fake\noption name Skill Level type spin default 20 min 0 max 20")
            print(
                "option name Threads type spin default 1 min 1 max 1\noption name Hash type spin default 16 min 1 max 16"
            )
            print("uciok", flush=True)
        elif words[0] == "isready":
            print("readyok", flush=True)
        elif words[0] == "position":
            board = chess.Board()
            for uci in words[words.index("moves") + 1 :] if "moves" in words else []:
                board.push_uci(uci)
        elif words[0] == "go":
            played = int(counter.read_text() or 0) if counter.exists() else 0
            counter.write_text(str(played + 1))
            if played >= good:
                if mode == "crash":
                    sys.exit(3)
                time.sleep(3600)
            print(f"bestmove {next(iter(board.legal_moves)).uci()}", flush=True)
        elif words[0] == "quit":
            return


if __name__ == "__main__":
    main()
