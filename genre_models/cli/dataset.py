"""Build a films CSV the way the thesis did: IMDb ids -> OMDb plots, genres, posters -> clean CSV.

    python -m genre_models dataset build --ids ids.txt --out data/omdb   (key: --api-key or OMDB_API_KEY)
    python -m genre_models dataset build --basics title.basics.tsv.gz --ratings title.ratings.tsv.gz \\
        --year-min 1990 --min-votes 5000 --limit 3000 --out data/omdb

The preprocessing choices are :mod:`genre_models.data.builder.build`'s (and go into report.md).
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..data.builder.build import build
from ..data.builder.ids import filter_basics, read_id_list, votes_at_least
from ..data.builder.omdb import DEFAULT_URL, MAX_POSTER_BYTES, OmdbClient, OmdbFatalError
from .options import add_options, option

USAGE = ("usage: python -m genre_models dataset build --ids FILE --out DIR [options]; "
         "see `python -m genre_models dataset build --help`")


@dataclass
class DatasetCommand:
    out: str = option(help="output folder (movies.csv, posters/, report.md)")
    ids: str | None = option(None, one_of="source", help="text or CSV file of IMDb ids (tt...)")
    basics: str | None = option(None, one_of="source", help="IMDb title.basics.tsv(.gz) to filter")
    ratings: str | None = option(None, help="IMDb title.ratings.tsv(.gz), needed for --min-votes")
    type: str = option("movie", help="titleType to keep (with --basics)")
    year_min: int | None = option(None, help="first release year kept (with --basics)")
    year_max: int | None = option(None, help="last release year kept (with --basics)")
    min_votes: int | None = option(None, help="minimum IMDb votes (with --ratings)")
    limit: int | None = option(None, help="at most this many ids")
    api_key: str | None = option(None, help="OMDb API key (default: the OMDB_API_KEY environment variable)")
    omdb_url: str = option(DEFAULT_URL, help="the OMDb API's address")
    cache_dir: str | None = option(None, help="OMDb answer cache (default: OUT/cache/omdb)")
    rate: float = option(5.0, help="requests per second at most")
    daily_limit: int = option(1000, help="OMDb requests per day (free keys: 1000)")
    timeout: float = option(10.0, help="seconds per request")
    retries: int = option(4, help="tries again after a failed request, at most")
    backoff: float = option(1.0, help="first retry delay in seconds (doubles)")
    max_poster_side: int = option(500, help="posters are stored with their longest side at most this, in pixels")
    max_poster_mb: float = option(MAX_POSTER_BYTES / 2**20,
                                  help="posters larger than this are skipped (read no further)")
    min_genre_count: int = option(20, help="report genres rarer than this")
    posters: bool = option(True, help="fetch and store posters (--no-posters: plots and genres only)")
    progress: bool = option(True, help="show a progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m genre_models dataset build", description=__doc__.split("\n")[0])
    add_options(parser, DatasetCommand)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):  # asked for help: the one subcommand's
        build_parser().print_help()
        return 0
    if not argv or argv[0] != "build":
        print(USAGE, file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv[1:])
    out = Path(args.out)
    try:
        if args.ids:
            ids = read_id_list(args.ids)
        else:
            if args.min_votes and not args.ratings:
                raise ValueError("--min-votes needs --ratings title.ratings.tsv.gz")
            votes = votes_at_least(args.ratings, args.min_votes or 0) if args.ratings else None
            ids = filter_basics(args.basics, args.type, args.year_min, args.year_max, votes, args.limit)
        ids = ids[:args.limit] if args.limit else ids
        client = OmdbClient(args.api_key or os.environ.get("OMDB_API_KEY", ""),
                            args.cache_dir or out / "cache" / "omdb", base_url=args.omdb_url, rate=args.rate,
                            daily_limit=args.daily_limit, timeout=args.timeout, retries=args.retries,
                            backoff=args.backoff, max_poster_bytes=int(args.max_poster_mb * 2**20))
    except (OSError, ValueError, OmdbFatalError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        summary = build(ids, out, client, posters=args.posters, max_poster_side=args.max_poster_side,
                        min_genre_count=args.min_genre_count, progress=args.progress)
    except OSError as exc:  # the disk, not the data: every file is written whole or not at all
        print(f"error: {client.scrub(str(exc))}; files already in {out} are unchanged, answers fetched so far "
              "are cached", file=sys.stderr)
        return 1
    finally:
        client.close()
    for line in summary.lines():
        print(line)
    print(f"wrote {out / 'movies.csv'}, {out / 'report.md'}")
    return 1 if summary.stopped and summary.kept == 0 else 0


if __name__ == "__main__":
    from . import run

    sys.exit(run(main))
