"""Command lines of the tools: a bad one gets one line and exit status 2."""
import argparse
import os
import sys


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write("%s: error: %s\n" % (os.path.basename(sys.argv[0]), message))
        sys.exit(2)
