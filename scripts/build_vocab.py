"""Build zgseg's default vocabulary for the fast captioner from WordNet 3.0
(Debian's wordnet-base): common English nouns and short noun phrases.

"Common" = the lemma has at least one sense tagged in WordNet's semantic
concordance (the tag-sense count in index.noun), a frequency proxy WordNet
ships; "something a photo can show" = one of those tagged senses descends from
physical_entity.n.01 (objects, animals, people, stuff like grass or water), not
from abstractions (abandonment, ability). Kept: lower-case alphabetic lemmas of 1-3 words (phrases with spaces,
no digits), that WordNet never writes capitalised (proper nouns: people,
places, brands). No evaluation dataset's class list is used.

    python3 scripts/build_vocab.py /usr/share/wordnet models/vocab/wordnet-nouns.txt
"""
import re
import sys
from pathlib import Path

wordnet, out = Path(sys.argv[1]), Path(sys.argv[2])

PHYSICAL_ENTITY = "00001930"

# Lemmas WordNet writes capitalised in any noun synset (proper nouns), and
# every synset's hypernyms (pointer '@' and instance hypernym '@i').
capitalised = set()
hypernyms = {}
for line in (wordnet / "data.noun").read_text(encoding="latin-1").splitlines():
    if line.startswith("  "):
        continue  # licence header
    fields = line.split()
    offset, count = fields[0], int(fields[3], 16)
    for i in range(count):
        word = fields[4 + 2 * i]
        if word[:1].isupper():
            capitalised.add(word.lower())
    p = 4 + 2 * count
    pointers = int(fields[p])
    hypernyms[offset] = [fields[p + 1 + 4 * k + 1] for k in range(pointers) if fields[p + 1 + 4 * k] in ("@", "@i")]

physical = {}
def is_physical(offset):
    if offset not in physical:
        physical[offset] = False  # cycle guard
        physical[offset] = offset == PHYSICAL_ENTITY or any(is_physical(h) for h in hypernyms.get(offset, []))
    return physical[offset]

entries = []
for line in (wordnet / "index.noun").read_text(encoding="latin-1").splitlines():
    if line.startswith("  "):
        continue
    fields = line.split()
    lemma, synset_count, pointer_count = fields[0], int(fields[2]), int(fields[3])
    tagged = int(fields[5 + pointer_count])  # tagsense_cnt
    if tagged < 1 or lemma in capitalised:
        continue
    senses = fields[6 + pointer_count:6 + pointer_count + synset_count]  # most frequent first
    if not any(is_physical(o) for o in senses[:tagged]):
        continue
    phrase = lemma.replace("_", " ")
    if not re.fullmatch(r"[a-z]+(?:[ -][a-z]+){0,2}", phrase) or len(phrase) < 2:
        continue
    entries.append(phrase)

out.parent.mkdir(parents=True, exist_ok=True)
out.write_text("\n".join(sorted(set(entries))) + "\n")
print(f"{len(set(entries))} entries -> {out}")
