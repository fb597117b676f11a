"""(being written by a helper; every function below is replaced)"""
from django.http import Http404


def funding_list_index(request, *args, **kwargs):
    raise Http404


def funding_list_detail(request, *args, **kwargs):
    raise Http404

