"""The study data file (crf-spec "The study data file"): one JSON document, export and import.

Both directions work over the form registry, so a form registered later joins
without new code here. Values are written in crf-spec terms: dates as
``YYYY-MM-DD``, decimals exactly as numbers, ``codes`` as lists, repeating groups
as lists of objects inside ``data``, derived variables written (and ignored on
import, which recomputes them by the rules of ``save_form``).

Import rules (decided here, shown in the preview):

* All or nothing: everything runs inside one transaction, every hard edit check
  runs, and any error rolls the whole file back. Each subject's forms are saved as one
  unit of work (``crf.services.SubjectBatch``): the checks, audit entries and after-save
  effects of ``save_form``, the hooks that keep the subject's schedule and TEAE run once
  per subject rather than after every form.
* Status: a form is imported *complete* when every required variable (after
  derivation, e.g. IEYN) has a value, else *in progress*; the file carries no
  status, so this keeps export → import → export stable.
* A subject is matched by its screening number. A form that exists is matched by
  visit (once-per-subject forms: by subject; log forms: the n-th record of the
  file is the n-th record in the database). A variable left out of a form's
  ``data`` is empty. An existing form whose values differ is changed, with the
  import's reason; one whose values are the same is left as it is (nothing
  written, its status kept). Forms and subjects absent from the file are left
  as they are; nothing is deleted.
* A screening number of another site, a subject ID that differs from the one in
  the database or is taken by another subject, are errors.
* Sites named in the file are created when absent; an existing site keeps its name.
* Study parameters: a top-level ``"parameters"`` object carries the study-level values
  of ``study.models.StudyParameters`` that the data depend on; today one,
  ``"target_enrolment"`` (a whole number ≥ 1: the number of subjects the study may
  enrol, crf-spec ENR "enrolment cap not reached"), e.g.
  ``"parameters": {"target_enrolment": 30}``. The export always writes it; the import
  reads it *before* any subject, so the cap of every ENR in the file is the file's
  target, and a study whose target was raised round-trips. A changed target is audited
  like a data manager's change (form code PARAM, variable TARGET_ENROLMENT, source
  import, the file's SHA-256 and the import's reason). The import may lower the target,
  never below the number of subjects already enrolled in the database (an error). A
  file without ``"parameters"`` (or without the value) keeps the database's target.
* Enrolment cap: every ENR the import saves passes the same check as the enrol page
  (``enrollment.services.enforce_enrolment_cap``, an ENR after-save hook): a file that
  enrols more subjects than the target is refused, the first one beyond it listed as
  ``subject / SCR / ENR / ENRDAT: Enrolment is closed …``, and nothing is written. A
  subject who died or left the study still counts.

At study scale neither direction holds the whole study twice: the export is read and
written a chunk of subjects at a time (``export_stream``, ``chunks``), the import reads
each subject from the text when it comes to it (``parse_lazily``).

The package, by concern: ``document`` (the format, its keys, the order of visits),
``encoding`` (the document as JSON text), ``parsing`` (JSON text into a document),
``export`` (the database as a document), ``values`` (JSON values into model values),
``report`` (what an import reports) and ``importer`` (the import itself).
"""

from crf.datafile.document import FORMAT, PARAMETERS, TARGET_ENROLMENT, visit_sort_key
from crf.datafile.encoding import Stream, chunks, dumps
from crf.datafile.export import export_document, export_stream
from crf.datafile.importer import import_document
from crf.datafile.parsing import DataFileError, Entries, parse, parse_lazily
from crf.datafile.report import Error, FormChange, ImportReport, Summary

__all__ = [
    "FORMAT",
    "PARAMETERS",
    "TARGET_ENROLMENT",
    "DataFileError",
    "Entries",
    "Error",
    "FormChange",
    "ImportReport",
    "Stream",
    "Summary",
    "chunks",
    "dumps",
    "export_document",
    "export_stream",
    "import_document",
    "parse",
    "parse_lazily",
    "visit_sort_key",
]
