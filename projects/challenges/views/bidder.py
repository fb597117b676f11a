"""PLACEHOLDER: replaced by the real views (work in progress)."""

from django.http import Http404


def bid_list(request, *args, **kwargs):
    raise Http404


def bid_create(request, *args, **kwargs):
    raise Http404


def bid_detail(request, *args, **kwargs):
    raise Http404


def bid_edit(request, *args, **kwargs):
    raise Http404


def bid_submit(request, *args, **kwargs):
    raise Http404


def bid_withdraw(request, *args, **kwargs):
    raise Http404
