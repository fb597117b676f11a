"""PLACEHOLDER: replaced by the real views (work in progress)."""

from django.http import Http404


def agreement_list(request, *args, **kwargs):
    raise Http404


def agreement_detail(request, *args, **kwargs):
    raise Http404


def agreement_print(request, *args, **kwargs):
    raise Http404


def agreement_edit(request, *args, **kwargs):
    raise Http404


def agreement_tranches(request, *args, **kwargs):
    raise Http404


def agreement_confirm(request, *args, **kwargs):
    raise Http404


def draft_for_project(request, *args, **kwargs):
    raise Http404
