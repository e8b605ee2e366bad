# The same ISO formats as English: dates are YYYY-MM-DD in every language.
from trial_edc.formats.en.formats import *  # noqa: F403
