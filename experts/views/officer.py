"""(being written by a helper; every function below is replaced)"""
from django.http import Http404


def pool(request, *args, **kwargs):
    raise Http404


def pool_import(request, *args, **kwargs):
    raise Http404


def expert_detail(request, *args, **kwargs):
    raise Http404


def round_list(request, *args, **kwargs):
    raise Http404


def round_create(request, *args, **kwargs):
    raise Http404


def round_detail(request, *args, **kwargs):
    raise Http404


def round_conflicts(request, *args, **kwargs):
    raise Http404


def round_ranking(request, *args, **kwargs):
    raise Http404


def funding_list(request, *args, **kwargs):
    raise Http404

