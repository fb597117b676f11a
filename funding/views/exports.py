"""The finance exports (streamed .xlsx): the ledger and every disbursement, filtered like the ledger page."""

from django.contrib.auth.decorators import login_required
from django.http import Http404

from .. import exports, selectors


def _filters(request) -> dict:
    def as_int(name):
        value = request.GET.get(name, "")
        return int(value) if value.isdigit() and len(value) < 10 else None

    basis = "established" if request.GET.get("year_basis") == "established" else "signed"
    return {"program_id": as_int("program"), "year": as_int("year"), "year_basis": basis,
            "state": request.GET.get("state", "")[:20]}


@login_required
def ledger_xlsx(request):
    if not selectors.sees_all(request.user):
        raise Http404
    return exports.ledger_xlsx(selectors.ledger_agreements(request.user, **_filters(request)))


@login_required
def disbursements_xlsx(request):
    if not selectors.sees_all(request.user):
        raise Http404
    agreements = selectors.ledger_agreements(request.user, **_filters(request))
    return exports.disbursements_xlsx(selectors.disbursements_of(agreements))
