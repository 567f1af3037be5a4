"""Which prometheus_client this python imports, and its version.

Usage: python prometheus_client_version.py
Prints one JSON object: {"version", "source", "file"}. A source tree put on
PYTHONPATH (upstream's git archive) has no package metadata, so its version
comes from the pyproject.toml (0.22 on) or setup.py (before) beside
the imported package. An installed package's version comes from its metadata,
and only when that metadata belongs to the package actually imported: with
Debian's 0.16 installed and a source tree on PYTHONPATH, the metadata would
name 0.16 while 0.25 runs.
"""
import json
import os
import re
import sys

import prometheus_client

IMPORTED = os.path.realpath(prometheus_client.__file__)
TREE = os.path.dirname(os.path.dirname(IMPORTED))

# pyproject.toml: `version = "0.25.0"` under [project]; setup.py: `version="0.16.0",`.
VERSION_LINE = re.compile(r'^\s*version\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)
NAME_LINE = re.compile(r'^\s*name\s*=\s*["\']prometheus[_-]client["\']', re.MULTILINE)


def from_source_tree():
    for name in ('pyproject.toml', 'setup.py'):
        candidate = os.path.join(TREE, name)
        if not os.path.isfile(candidate):
            continue
        with open(candidate, encoding='utf-8') as f:
            text = f.read()
        version = VERSION_LINE.search(text)
        if NAME_LINE.search(text) and version:
            return version.group(1), candidate
    return None


def from_metadata():
    from importlib import metadata
    try:
        distribution = metadata.distribution('prometheus_client')
    except metadata.PackageNotFoundError:
        return None
    installed = os.path.realpath(str(distribution.locate_file('prometheus_client/__init__.py')))
    if installed != IMPORTED:
        sys.exit('prometheus_client %s is installed at %s, but %s is imported, and no pyproject.toml or setup.py in %s names its version'
                 % (distribution.version, installed, IMPORTED, TREE))
    return distribution.version, 'package metadata'


def main():
    found = from_source_tree() or from_metadata()
    if found is None:
        sys.exit('%s has neither package metadata nor a pyproject.toml or setup.py beside it in %s' % (IMPORTED, TREE))
    version, source = found
    print(json.dumps({'version': version, 'source': source, 'file': IMPORTED}))


if __name__ == '__main__':
    main()
