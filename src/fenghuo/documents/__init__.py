"""Word / Excel rendering shared by the apps (not a Django app: no models, no migrations).

`documents.docx` lays out official documents (公文) after GB/T 9704-2012; each app builds
its own documents from these helpers (for example `events.documents` for 信息专报).
"""
