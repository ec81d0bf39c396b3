"""Words as the lexical index, the highlighter and the concept tagger see them.

One pattern for all three: a query word is marked in a passage only if the index
found it there, and the tagger's spans fall on the same words.
"""

from __future__ import annotations

import re

# Runs of letters and digits: punctuation, spaces and "_" separate words.
WORD = re.compile(r"[^\W_]+", re.UNICODE)

