"""
`ansible-inventory -i SRC... --list` for many inventories in one Python process (the differential test's
oracle): ansible-core is imported once instead of once per inventory (~1 s of CPU each). Each case runs the
real InventoryCLI, as /usr/bin/ansible-inventory does, with a fresh global CLI context (GlobalCLIArgs is a
singleton that would otherwise keep the first case's arguments). Reads a JSON list of source lists on stdin;
writes a JSON list of {"code", "stdout", "stderr"} on stdout.
"""
import contextlib
import io
import json
import sys

from ansible.cli.inventory import InventoryCLI
from ansible.errors import AnsibleError
from ansible.utils.context_objects import GlobalCLIArgs

results = []
for sources in json.load(sys.stdin):
    GlobalCLIArgs._Singleton__instance = None
    args = ['ansible-inventory'] + [a for s in sources for a in ('-i', s)] + ['--list']
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            InventoryCLI(args).run()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except AnsibleError as e:
            code = 1
            print('ERROR! %s' % e, file=sys.stderr)
    results.append({'code': code, 'stdout': out.getvalue(), 'stderr': err.getvalue()})
json.dump(results, sys.stdout)
