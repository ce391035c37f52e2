#!/usr/bin/env python3
"""Checks that a Turtle file and a JSON-LD file written by cityhall's DCAT rendering parse
with rdflib and hold the same graph (up to blank-node names). Not run by cargo.

    python3 dcat_check.py dataset.ttl dataset.jsonld
    python3 dcat_check.py catalog.ttl catalog.jsonld   # paging links differ only in extension

Needs `pip install rdflib`. Exits 1 and prints the differing triples when the graphs differ.
"""
import sys

import rdflib
from rdflib.compare import graph_diff, to_isomorphic


def normalise(g):
    """Catalog pages link to their own format (catalog.ttl / catalog.jsonld); compare them as one."""
    out = rdflib.Graph()
    for s, p, o in g:
        s, o = (
            rdflib.URIRef(str(t).replace("/catalog.jsonld?", "/catalog.ttl?"))
            if isinstance(t, rdflib.URIRef)
            else t
            for t in (s, o)
        )
        out.add((s, p, o))
    return out


def main(ttl_path, jsonld_path):
    ttl = normalise(rdflib.Graph().parse(ttl_path, format="turtle"))
    jsonld = normalise(rdflib.Graph().parse(jsonld_path, format="json-ld"))
    a, b = to_isomorphic(ttl), to_isomorphic(jsonld)
    print(f"turtle: {len(ttl)} triples, json-ld: {len(jsonld)} triples")
    if a == b:
        print("same graph")
        return 0
    _, only_ttl, only_jsonld = graph_diff(a, b)
    for label, diff in (("only in turtle", only_ttl), ("only in json-ld", only_jsonld)):
        print(f"{label}:")
        for triple in sorted(diff):
            print("   ", triple)
    return 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
