import time

from django.db import connection


class QueryCountMiddleware:
    """Adds X-Bench-Queries and X-Bench-SQL-ms to each response (the queries run while the view and
    its template ran; a streamed body's queries come later and are not counted)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        stats = {"n": 0, "s": 0.0}

        def wrapper(execute, sql, params, many, context):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                stats["n"] += 1
                stats["s"] += time.perf_counter() - start

        with connection.execute_wrapper(wrapper):
            response = self.get_response(request)
            if not response.streaming and hasattr(response, "render") and not response.is_rendered:
                response.render()
        response["X-Bench-Queries"] = str(stats["n"])
        response["X-Bench-SQL-ms"] = f"{stats['s'] * 1000:.1f}"
        return response
