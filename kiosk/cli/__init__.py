"""The `kiosk` command line: `main(argv)` runs it (the `kiosk` console script; `python -m kiosk.cli`).

One module per command family, each registering its subcommands (`register`) and importing what
it needs only when it runs:

- `config` — `kiosk config check`;
- `code` — `kiosk code verify`: one code, an image, or a batch;
- `thermal` — `kiosk thermal convert`: raw MLX90640 words to °C;
- `simulate` — `kiosk simulate`: a visitor scenario through the real pipeline;
- `run` — `kiosk run`: the kiosk itself, or the simulated demo;
- `outbox` — `kiosk outbox stats|tail|purge-sent`;
- `field` — `kiosk selftest`, `kiosk provision`, `kiosk maintenance`;
- `calibrate` — `kiosk calibrate`;
- `screens` — `kiosk screens`: every screen as PNG;
- `township` — `kiosk township …`: hands over to the separate `township` program.

`loading` reads the configuration once for all of them and prints an unusable one; `parser`
builds the parser and runs the chosen command.
"""

from kiosk.cli.parser import build_parser, main

__all__ = ["build_parser", "main"]
