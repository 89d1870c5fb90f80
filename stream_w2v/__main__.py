import sys

from stream_w2v.cli import main

sys.exit(main())
