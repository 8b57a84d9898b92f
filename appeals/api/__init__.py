"""The appeals API: what the person a record is about and their representative see and do, and
what a data steward and a senior reviewer do with challenges; everything the pages do, through
the same selectors and services, so under the same rules.

- ``record``: a person's own record (``/me/``), or one person's record as their representative
  reads it (``/records/{id}/``);
- ``representations``: grants of representation, and accepting, declining or revoking one;
- ``challenges``: the caller's challenges or work queue, filing one (JSON, or a multipart form
  with attachments), one challenge, the steps taken on it, and its attachments as downloads;
- ``serializers``: every body the API reads and writes, from which the schema is generated;
- ``errors``: how the services' refusals become the one error rule's answers
  (config/api_errors.py), and the error answers each operation documents;
- ``access``: as whom the caller sees a person's data, and the access log entries each answer
  writes.

Whatever the caller may not see answers 404 with the same words as what does not exist.
"""
