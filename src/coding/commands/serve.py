"""``coding serve``: the coding app in the browser, over :mod:`coding.app`."""

from __future__ import annotations

from coding.commands.common import coder_list, find_store, non_negative


def _cmd_serve(args) -> int:
    from coding.app.desk import Options
    from coding.app.web import serve

    coders = tuple(coder_list(args.coders)) if args.coders else ()
    options = Options(coder=args.coder or "", mode=args.mode, order=args.order, n=args.n, seed=args.seed,
                      coders=coders, consensus=args.consensus, machine=args.machine, codebook=args.codebook,
                      model=args.model, retrain_every=args.retrain_every)
    try:
        serve(find_store(args.store), options, host=args.host, port=args.port, open_browser=not args.no_browser,
              announce=lambda url: print(f"coding in the browser at {url}\n(Ctrl+C stops the server; every "
                                         "decision is already in the store)", flush=True))
    except KeyboardInterrupt:
        pass
    return 0


def add_commands(sub) -> None:
    """``serve``: the coding app in the browser."""
    sv = sub.add_parser("serve", help="code units in the browser (a local app on the store)")
    sv.add_argument("--store", default=None, help="project store (default: outputs/project.sqlite)")
    sv.add_argument("--coder", help="the person's name (default: asked on the first page)")
    sv.add_argument("--mode", default="blind", choices=["blind", "review", "adjudicate"],
                    help="blind: nothing of another coder shown (default); review: the machine coder's proposals, "
                         "stored as NAME-review; adjudicate: where --coders differ, stored as --consensus")
    sv.add_argument("--order", default="documents", choices=["documents", "random", "active"],
                    help="documents in order (default), a random sample (--n, --seed), or active learning")
    sv.add_argument("--n", type=non_negative, default=0,
                    help="units in the plan (default: all in document order, 100 at random, 50 active)")
    sv.add_argument("--seed", type=int, default=0, help="seed of the random sample (default: 0)")
    sv.add_argument("--coders", help="the two coders to adjudicate, e.g. human-1,human-2")
    sv.add_argument("--consensus", default="consensus", help="coder name of adjudicated decisions")
    sv.add_argument("--machine", default="", help="the machine coder shown in review mode (default: the default "
                                                   "coder, auto)")
    sv.add_argument("--codebook", default=None, help="codebook of the machine coder (default: codebook.yaml)")
    sv.add_argument("--model", default=None, help="learned coder's model (default: the shipped one)")
    sv.add_argument("--retrain-every", type=non_negative, default=20,
                    help="active learning: train the learned coder again every N decisions (0: never)")
    sv.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default: 127.0.0.1, this machine only; another prints a warning)")
    sv.add_argument("--port", type=non_negative, default=0, help="port (default: a free one)")
    sv.add_argument("--no-browser", action="store_true", help="print the address without opening a browser")
    sv.set_defaults(func=_cmd_serve)
