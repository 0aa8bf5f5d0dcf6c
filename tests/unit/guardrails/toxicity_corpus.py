"""Hand-written toxic and benign texts for the toxicity and profanity detectors, plus the scores
the real alt-profanity-check package gives a fixed set of texts (generated, see PACKAGE_SCORES).

The benign set carries the traps word filters fall into (kill the process, Scunthorpe, cocktail…);
the toxic set carries insults with no slur or swear word and hate with no profanity at all, which
a profanity-trained model is known to miss, so the measured recall is an honest one.
"""

from __future__ import annotations

import random
import re

# A 1.5 KB support ticket with nothing wrong in it; LONG_TOXIC hides one insult in the middle.
TICKET = (
    "Hello team, I am writing about order 48213 placed on the fourth of March. The package arrived "
    "two days late and the box was damaged on one corner, although the contents looked fine at first. "
    "When I set up the router, the status light kept blinking orange and the admin page would not load "
    "in either Firefox or Chrome. I followed the quick start guide, reset the device twice with a paper "
    "clip, and tried both the yellow and the blue ports. Your chat assistant suggested updating the "
    "firmware, but the download link on the support page returns an error. I also called the hotline "
    "on Tuesday and waited forty minutes before the call dropped. Could you please tell me whether this "
    "unit is faulty, and if so, arrange a replacement or a refund? I would prefer a replacement because "
    "the rest of the kit works well and I like the design. My account email is on file, and I am happy "
    "to send photos of the box and the serial number label. I work from home, so a stable connection "
    "matters a lot to me; at the moment I am tethering to my phone, which is slow and expensive. If a "
    "technician visit is possible, any weekday morning suits me. Thank you for your help, and I look "
    "forward to hearing from you soon. One more detail: the replacement power adapter you sent last "
    "year for my previous model still works, so there is no need to include one. Please also confirm "
    "whether the two-year warranty covers the new unit from the date of purchase or of delivery. "
    "Kind regards, Dana."
)
INSULT = "Honestly, whoever wrote that guide is a useless moron."
_CUT = TICKET.index(". ", 700) + 1
LONG_TOXIC = TICKET[:_CUT] + " " + INSULT + TICKET[_CUT:]

TOXIC = [
    "You are a worthless idiot and everyone here knows it.",
    "Shut up, you pathetic loser.",
    "What the fuck is wrong with you?",
    "This is the dumbest fucking question I have ever read.",
    "Go to hell, you piece of shit.",
    "You're a moron. Nobody wants your opinion.",
    "Get lost, you stupid bitch.",
    "I hope you die in a fire.",
    "Kill yourself, nobody would miss you.",
    "You are so stupid it hurts to read your messages.",
    "Fuck off and never come back.",
    "What a brainless, ugly clown you are.",
    "Listen here, dumbass, do what I say.",
    "You are a disgusting pig and a coward.",
    "Eat shit, you absolute waste of space.",
    "Those people are subhuman vermin and should be driven out of the country.",
    "Women are too dumb to write code.",
    "Stop whining, you spineless little twat.",
    "I will find you and beat the crap out of you.",
    "You're an imbecile and your work is trash.",
    "Damn you and your useless team of idiots.",
    "Nobody likes you, you pathetic clown.",
    "f*ck you, you lying sack of sh1t",
    "Immigrants like them are parasites who ruin every neighbourhood they move into.",
    LONG_TOXIC,
]

BENIGN = [
    "How do I kill the process that is holding port 8080?",
    "Shoot me an email when the deploy is done.",
    "Let's assume the input is already sorted.",
    "Scunthorpe United won their match on Saturday.",
    "Order a cocktail at the hotel bar after the conference.",
    "The class inherits from the base class and overrides one method.",
    "Hello! Can you help me write a cover letter?",
    "Please summarise this article about renewable energy in three bullet points.",
    "Run kill -9 on the stuck worker, then restart the service.",
    "The function should execute the job and terminate all child processes.",
    "Breast cancer screening is recommended every two years after fifty.",
    "Translate 'good morning' into French and Spanish.",
    "What is the capital of Australia?",
    "Our dog had six puppies last week; how should we feed them?",
    "This cake recipe calls for two cups of flour and three eggs.",
    "Write a unit test for the parser that checks empty input.",
    "Can you explain the difference between TCP and UDP?",
    "The build failed with a segmentation fault in the image decoder.",
    "My grandmother turns ninety next month; suggest a gift.",
    "Hit the brakes gently on icy roads.",
    "Please review my pull request when you have a moment.",
    "The stock price dropped sharply after the earnings call.",
    "Penetration testing found an SQL injection in the login form.",
    "Blow out the candles and make a wish.",
    "Is it safe to eat raw cookie dough?",
    TICKET,
]

# Inputs that must never make a detector raise (scores need not mean anything).
ODD_INPUTS = [
    "",
    " ",
    "\n\n\t",
    "...!!!???",
    "a",
    "Ünïcödé façade naïve café — «quotes» and emoji 😀🔥💩",
    "日本語のテキストです。これは文です。",
    "İstanbul ǅ ß ﬁ",  # lower() changes the length of these
    "\x00\x01\x02 control \ud800 lone surrogate",
    "word " * 5000,
    "x" * 100_000,
]

# Texts the scorer is checked against the real package on, beyond TOXIC and BENIGN.
FIXTURE_EXTRA = [
    "",
    "the and of",  # English stop words only: the vectorizer drops them, the model sees nothing
    "FUCK FUCK Fuck fuck",
    "kill -9",
    "Ünïcödé façade naïve café",
    "İstanbul STRASSE straße",
    "idiot_moron stupid-idiot idiot2 2idiot",
    "ass " * 300,
]


def _word_salads() -> list[str]:
    """Corpus words in a seeded random order, repeats included (term frequencies above one)."""
    rng = random.Random(2026)
    words = sorted({word for text in TOXIC + BENIGN for word in re.findall(r"\w+", text)})
    return [" ".join(rng.choices(words, k=size)) for size in (3, 12, 40, 150)]


FIXTURE_TEXTS = [*TOXIC, *BENIGN, *FIXTURE_EXTRA, *_word_salads()]

# BEGIN PACKAGE SCORES (generated by scripts/export_profanity_model.py with alt-profanity-check 1.9.1;
# do not edit): the sha256 prefix of each FIXTURE_TEXTS entry and the package's predict_prob for it.
PACKAGE_SCORES: list[tuple[str, float]] = [
    ("2557ff568626ce0e", 0.9996910423188516),
    ("708b227e424eec62", 0.9999793992910844),
    ("507b596da63fb9f3", 0.9999999884318088),
    ("ff8e97b0dee2c4ef", 0.9999851169791892),
    ("e79a1b696129d3e3", 0.9999981805860871),
    ("e83de21398a99117", 0.9848660665301432),
    ("d26c30f8ab3342ef", 0.9999999898397742),
    ("e11b0c4284bf2341", 0.8635175038794964),
    ("70e446e270c6260d", 0.6843276354868559),
    ("42be9d1d0ae1e41f", 0.9379678926010415),
    ("7ac44c6fb0806d48", 0.9999999946060019),
    ("fd65f3ccb4036d3b", 0.8423372365224313),
    ("2e68e38a30774075", 0.9899705528807983),
    ("5401dff36638169a", 0.9994034969924277),
    ("558060f5b3899668", 0.9994750823124111),
    ("057ee1c44b988c7a", 0.11424479328414416),
    ("b778c2648fa5d44c", 0.8122150715804816),
    ("2592574e6a2e215c", 0.9915662177701623),
    ("7e8f19c289d8c1b1", 0.9928786991949801),
    ("480e799983253f10", 0.9924339508750271),
    ("1e9861a8861bf5e4", 0.9996556128788839),
    ("7c61f1abd4ad820a", 0.9807907776292085),
    ("0dc135bb075ea9ec", 0.981666958103213),
    ("acaa9a5e969b2648", 0.19825991123969133),
    ("1902b4fbfaa2fe6e", 0.003668538850772419),
    ("da4dfad12f0e8a84", 0.16252312431504712),
    ("772e935e99789b31", 0.41572486807048376),
    ("417d470dc5ec525e", 0.007728138955979446),
    ("41c0167f7a53fa0e", 0.029021109073859196),
    ("3859184afa78fbd0", 0.01156307123770948),
    ("78368f84a77407c1", 0.01766879750448214),
    ("339bbad84f77ce5c", 0.015087465650734159),
    ("c9046beb455a1f5a", 0.007511918379213884),
    ("2be2e1200967fb03", 0.2749392975864648),
    ("2aa5064c57f9a051", 0.014161413435529804),
    ("3697fd13d01fb808", 0.202245099844017),
    ("8c0aed4b718a6e39", 0.03072208638319334),
    ("bad9ea434b83cd45", 0.013817918769485283),
    ("6766a7800d5b4f21", 0.3144256859876565),
    ("29e38ff1b35e55fe", 0.011898690040594889),
    ("1e2f110970a9d5a2", 0.0032737053982473223),
    ("eea087526e04c921", 0.006671096912022825),
    ("a2b9812101cc4e77", 0.11209657219162952),
    ("4d76cc0467222dce", 0.014369012737432496),
    ("edbb408c8b516525", 0.24543550677734594),
    ("f0fc26a29b08392b", 0.012591838668498376),
    ("ff4d69250f06d1c0", 0.025225306990154316),
    ("0882379a455a596a", 0.007691120668967713),
    ("a8a2c6f6d81fb748", 0.6708023544289279),
    ("b9b33ecaae9bf945", 0.06743201929004036),
    ("a49404ab6eaff024", 0.0008759850126650083),
    ("e3b0c44298fc1c14", 0.036375752016469504),
    ("209c09b8272ced55", 0.036375752016469504),
    ("2e4ba3ec2b1e9959", 0.9999999999975262),
    ("cd5209e2f6993ea2", 0.946731563098411),
    ("4d808b19e3d4cecc", 0.036375752016469504),
    ("384448bb882e9cc2", 0.036375752016469504),
    ("04c81c5f9c07e971", 0.9999999926672976),
    ("ec2c26d9bd58df66", 0.9999988874157619),
    ("3b2affe572234619", 0.019522538523184915),
    ("0729abe7bdf4c0c0", 0.23172748341056232),
    ("831ddca21642fe8f", 0.9716302054237241),
    ("4a939d32efc126b5", 0.9982619882971523),
]
# END PACKAGE SCORES
