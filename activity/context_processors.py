from django.utils.functional import SimpleLazyObject

from .selectors import may_see_escalations, unread_count


def inbox(request):
    user = getattr(request, "user", None)
    if user is None:
        return {}
    # Lazy: one COUNT query, only on pages that render the badge.
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(user)),
            "may_see_duban": SimpleLazyObject(lambda: may_see_escalations(user))}
