"""The full-text index of reports (see fenghuo.events.search).

SQLite: an FTS5 table, rowid = report id. PostgreSQL: a table with the same segmented
terms and a generated tsvector ('simple' configuration, title A, place B, body C) under a
GIN index. It has no foreign key to events_report: the test runner's flush truncates
Django's tables only, and a report row is never deleted while its index row matters (the
search joins every match with the visible reports).

Existing reports are indexed here; `fenghuo reindex_search` rebuilds the index at any time.
"""

from django.db import migrations

SQLITE_FORWARDS = [
    "CREATE VIRTUAL TABLE events_report_fts USING fts5("
    "title, place, body, tokenize = 'unicode61 remove_diacritics 0')",
]
SQLITE_BACKWARDS = ["DROP TABLE IF EXISTS events_report_fts"]

POSTGRES_FORWARDS = [
    """
    CREATE TABLE events_report_search (
        report_id bigint PRIMARY KEY,
        title text NOT NULL DEFAULT '',
        place text NOT NULL DEFAULT '',
        body text NOT NULL DEFAULT '',
        document tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('simple'::regconfig, title), 'A')
            || setweight(to_tsvector('simple'::regconfig, place), 'B')
            || setweight(to_tsvector('simple'::regconfig, body), 'C')
        ) STORED
    )
    """,
    "CREATE INDEX events_report_search_document ON events_report_search USING GIN (document)",
]
POSTGRES_BACKWARDS = ["DROP TABLE IF EXISTS events_report_search"]


def create_index(apps, schema_editor):
    connection = schema_editor.connection
    statements = {"sqlite": SQLITE_FORWARDS, "postgresql": POSTGRES_FORWARDS}.get(connection.vendor)
    if statements is None:
        return
    for sql in statements:
        schema_editor.execute(sql)

    from fenghuo.events.search import document_of, write_documents

    Report = apps.get_model("events", "Report")
    write_documents(
        connection,
        (
            (report.pk, document_of(report))
            for report in Report.objects.using(connection.alias).iterator(chunk_size=500)
        ),
    )


def drop_index(apps, schema_editor):
    statements = {"sqlite": SQLITE_BACKWARDS, "postgresql": POSTGRES_BACKWARDS}.get(
        schema_editor.connection.vendor, []
    )
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0002_verification_consultation"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
