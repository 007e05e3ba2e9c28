"""Use cases of the widget API (/api/v1, issue 7): every function takes the verified token claims, authorizes the
caller in the same Redis round trip as its first reads (see `access`), and returns plain JSON-ready data."""
from service.widget_api.access import Caller, authorize  # noqa: F401
from service.widget_api.admin import plans, put_plan, put_settings, settings_view  # noqa: F401
from service.widget_api.hints import (attention, card, clear_feedback, give_feedback,  # noqa: F401
                                      settle_hint_outcomes, usefulness)
from service.widget_api.overview import dead_letters, manager_summary, me, panel, sync  # noqa: F401
from service.widget_api.tasks import create_follow_up  # noqa: F401
