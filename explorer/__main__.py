"""``python -m explorer ...``: see explorer/cli.py."""

import sys

from explorer.cli import main
from explorer.memory_bound import bound_address_space

if __name__ == "__main__":
    bound_address_space()  # out of memory: exit 4 with one line, not the OOM killer's SIGKILL
    sys.exit(main())
