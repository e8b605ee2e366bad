"""The code lists of crf-spec "Code lists": codes as values, translatable labels.

The UI shows each code's label, never the raw code alone; import and export use
the codes.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class YN(models.TextChoices):
    Y = "Y", _("Yes")
    N = "N", _("No")


class YNU(models.TextChoices):
    Y = "Y", _("Yes")
    N = "N", _("No")
    U = "U", _("Unknown")


class Sex(models.TextChoices):
    M = "M", _("Male")
    F = "F", _("Female")


class Ethnic(models.TextChoices):
    HAN = "HAN", _("Han")
    OTHER_CHINESE_MINORITY = "OTHER_CHINESE_MINORITY", _("Other Chinese ethnic minority")
    OTHER = "OTHER", _("Other")


class DiagnosisMethod(models.TextChoices):
    HISTOLOGY = "HISTOLOGY", _("Histology")
    CYTOLOGY = "CYTOLOGY", _("Cytology")
    CLINICAL = "CLINICAL", _("Clinical (Chinese guideline)")


class Aetiology(models.TextChoices):
    HBV = "HBV", _("Hepatitis B")
    HCV = "HCV", _("Hepatitis C")
    ALCOHOL = "ALCOHOL", _("Alcohol")
    MASLD = "MASLD", _("MASLD")
    OTHER = "OTHER", _("Other")
    UNKNOWN = "UNKNOWN", _("Unknown")


class BCLC(models.TextChoices):
    A = "A", _("A (early)")
    B = "B", _("B (intermediate)")
    C = "C", _("C (advanced)")
    D = "D", _("D (terminal)")


class PortalVeinGrade(models.TextChoices):
    VP1 = "VP1", _("Vp1")
    VP2 = "VP2", _("Vp2")
    VP3 = "VP3", _("Vp3")
    VP4 = "VP4", _("Vp4 (main trunk)")


class PriorTherapy(models.TextChoices):
    RESECTION = "RESECTION", _("Resection")
    ABLATION = "ABLATION", _("Ablation")
    TACE = "TACE", _("TACE")
    HAIC = "HAIC", _("HAIC")
    RADIOTHERAPY = "RADIOTHERAPY", _("Radiotherapy")
    TRANSPLANT = "TRANSPLANT", _("Transplant")
    IMMUNOTHERAPY = "IMMUNOTHERAPY", _("Immunotherapy")
    OTHER_SYSTEMIC = "OTHER_SYSTEMIC", _("Other systemic therapy")


class Response(models.TextChoices):
    CR = "CR", _("Complete response")
    PR = "PR", _("Partial response")
    SD = "SD", _("Stable disease")
    PD = "PD", _("Progressive disease")
    NE = "NE", _("Not evaluable")


class LenvatinibStop(models.TextChoices):
    PROGRESSION = "PROGRESSION", _("Progression")
    INTOLERANCE = "INTOLERANCE", _("Intolerance")
    OTHER = "OTHER", _("Other")


class LenvatinibDose(models.TextChoices):
    MG8 = "8", _("8 mg")
    MG12 = "12", _("12 mg")


class UrineProtein(models.TextChoices):
    NEG = "NEG", _("Negative")
    TRACE = "TRACE", _("Trace")
    P1 = "1+", "1+"
    P2 = "2+", "2+"
    P3 = "3+", "3+"
    P4 = "4+", "4+"


class Ascites(models.TextChoices):
    NONE = "NONE", _("None")
    MILD = "MILD", _("Mild")
    MODERATE_SEVERE = "MODERATE_SEVERE", _("Moderate to severe")


class Encephalopathy(models.TextChoices):
    NONE = "NONE", _("None")
    GRADE_1_2 = "GRADE_1_2", _("Grade 1-2")
    GRADE_3_4 = "GRADE_3_4", _("Grade 3-4")


class Dose(models.TextChoices):
    MG12 = "12", _("12 mg")
    MG10 = "10", _("10 mg")
    MG8 = "8", _("8 mg")


class ActionReason(models.TextChoices):
    ADVERSE_EVENT = "ADVERSE_EVENT", _("Adverse event")
    OTHER = "OTHER", _("Other")


class Organ(models.TextChoices):
    LIVER = "LIVER", _("Liver")
    LUNG = "LUNG", _("Lung")
    LYMPH_NODE = "LYMPH_NODE", _("Lymph node")
    PERITONEUM = "PERITONEUM", _("Peritoneum")
    BONE = "BONE", _("Bone")
    ADRENAL = "ADRENAL", _("Adrenal")
    PORTAL_VEIN = "PORTAL_VEIN", _("Portal vein")
    OTHER = "OTHER", _("Other")


class TargetStatus(models.TextChoices):
    MEASURED = "MEASURED", _("Measured")
    TOO_SMALL = "TOO_SMALL", _("Too small to measure")
    DISAPPEARED = "DISAPPEARED", _("Disappeared")
    NOT_ASSESSED = "NOT_ASSESSED", _("Not assessed")


class NonTargetStatus(models.TextChoices):
    PRESENT = "PRESENT", _("Present")
    ABSENT = "ABSENT", _("Absent")
    UNEQUIVOCAL_PD = "UNEQUIVOCAL_PD", _("Unequivocal progression")
    NOT_ASSESSED = "NOT_ASSESSED", _("Not assessed")


class NonTargetResponse(models.TextChoices):
    """The non-target response of a time point (RECIST 1.1 §4.3.3; derived, TANTRESP)."""

    CR = "CR", _("Complete response")
    NON_CR_NON_PD = "NON_CR_NON_PD", _("Non-CR/non-PD")
    PD = "PD", _("Progressive disease")
    NE = "NE", _("Not evaluable")


class ImagingMethod(models.TextChoices):
    CT = "CT", "CT"
    MRI = "MRI", "MRI"


class Route(models.TextChoices):
    ORAL = "ORAL", _("Oral")
    IV = "IV", _("Intravenous")
    SC = "SC", _("Subcutaneous")
    IM = "IM", _("Intramuscular")
    TOPICAL = "TOPICAL", _("Topical")
    OTHER = "OTHER", _("Other")


class AERelation(models.TextChoices):
    """AEREL: the first three count as related (protocol.md TEAE tables)."""

    RELATED = "RELATED", _("Related")
    PROBABLY_RELATED = "PROBABLY_RELATED", _("Probably related")
    POSSIBLY_RELATED = "POSSIBLY_RELATED", _("Possibly related")
    UNLIKELY_RELATED = "UNLIKELY_RELATED", _("Unlikely related")
    NOT_RELATED = "NOT_RELATED", _("Not related")


RELATED_CODES = frozenset(
    {AERelation.RELATED, AERelation.PROBABLY_RELATED, AERelation.POSSIBLY_RELATED}
)


class AEAction(models.TextChoices):
    DOSE_NOT_CHANGED = "DOSE_NOT_CHANGED", _("Dose not changed")
    INTERRUPTED = "INTERRUPTED", _("Drug interrupted")
    REDUCED = "REDUCED", _("Dose reduced")
    WITHDRAWN = "WITHDRAWN", _("Drug withdrawn")
    NOT_APPLICABLE = "NOT_APPLICABLE", _("Not applicable")


class AEOutcome(models.TextChoices):
    RECOVERED = "RECOVERED", _("Recovered / resolved")
    RECOVERING = "RECOVERING", _("Recovering / resolving")
    NOT_RECOVERED = "NOT_RECOVERED", _("Not recovered / not resolved")
    RECOVERED_WITH_SEQUELAE = "RECOVERED_WITH_SEQUELAE", _("Recovered with sequelae")
    FATAL = "FATAL", _("Fatal")
    UNKNOWN = "UNKNOWN", _("Unknown")


class DeviationCategory(models.TextChoices):
    ELIGIBILITY = "ELIGIBILITY", _("Eligibility")
    CONSENT = "CONSENT", _("Informed consent")
    VISIT_WINDOW = "VISIT_WINDOW", _("Visit out of window")
    DOSING = "DOSING", _("Study drug dosing")
    ASSESSMENT_MISSED = "ASSESSMENT_MISSED", _("Assessment missed")
    SAFETY_REPORTING = "SAFETY_REPORTING", _("Safety reporting")
    OTHER = "OTHER", _("Other")


class DeviationSeverity(models.TextChoices):
    MAJOR = "MAJOR", _("Major")
    MINOR = "MINOR", _("Minor")


class EndOfTreatmentReason(models.TextChoices):
    PD_RADIOLOGICAL = "PD_RADIOLOGICAL", _("Radiological progression (RECIST 1.1)")
    CLINICAL_PROGRESSION = "CLINICAL_PROGRESSION", _("Clinical progression")
    ADVERSE_EVENT = "ADVERSE_EVENT", _("Adverse event")
    DEATH = "DEATH", _("Death")
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN", _("Consent withdrawn")
    INVESTIGATOR_DECISION = "INVESTIGATOR_DECISION", _("Investigator decision")
    LOST_TO_FOLLOWUP = "LOST_TO_FOLLOWUP", _("Lost to follow-up")
    COMPLETED_24_MONTHS = "COMPLETED_24_MONTHS", _("Completed 24 months")
    OTHER = "OTHER", _("Other")


class Contact(models.TextChoices):
    VISIT = "VISIT", _("Visit")
    PHONE = "PHONE", _("Telephone")
    RECORDS = "RECORDS", _("Medical records")


class SurvivalStatus(models.TextChoices):
    ALIVE = "ALIVE", _("Alive")
    DEAD = "DEAD", _("Dead")
    LOST_TO_FOLLOWUP = "LOST_TO_FOLLOWUP", _("Lost to follow-up")


class NewTherapyType(models.TextChoices):
    SYSTEMIC = "SYSTEMIC", _("Systemic therapy")
    TACE = "TACE", "TACE"
    HAIC = "HAIC", "HAIC"
    RADIOTHERAPY = "RADIOTHERAPY", _("Radiotherapy")
    SURGERY = "SURGERY", _("Surgery")
    ABLATION = "ABLATION", _("Ablation")
    OTHER = "OTHER", _("Other")


class DeathCause(models.TextChoices):
    DISEASE_PROGRESSION = "DISEASE_PROGRESSION", _("Disease progression")
    ADVERSE_EVENT = "ADVERSE_EVENT", _("Adverse event")
    OTHER = "OTHER", _("Other")
    UNKNOWN = "UNKNOWN", _("Unknown")


class StudyEndReason(models.TextChoices):
    COMPLETED = "COMPLETED", _("Completed")
    DEATH = "DEATH", _("Death")
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN", _("Consent withdrawn")
    LOST_TO_FOLLOWUP = "LOST_TO_FOLLOWUP", _("Lost to follow-up")
    SPONSOR_TERMINATED = "SPONSOR_TERMINATED", _("Study terminated by the sponsor")
    OTHER = "OTHER", _("Other")
