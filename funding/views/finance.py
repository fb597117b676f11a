"""PLACEHOLDER: replaced by the real views (work in progress)."""

from django.http import Http404


def due_tranches(request, *args, **kwargs):
    raise Http404


def record(request, *args, **kwargs):
    raise Http404


def approval_queue(request, *args, **kwargs):
    raise Http404


def approve(request, *args, **kwargs):
    raise Http404


def reject(request, *args, **kwargs):
    raise Http404


def reverse_payment(request, *args, **kwargs):
    raise Http404


def ledger(request, *args, **kwargs):
    raise Http404
