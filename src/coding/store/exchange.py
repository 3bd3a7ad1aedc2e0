"""The store's side of exchange files (REFI-QDA): people's codings as the
character spans they made, the memos and notes read with them, the times an
exchange file gives its codings, and the rows an export writes.
"""

from __future__ import annotations

from coding.store.base import StoreBase


class ExchangeQueries(StoreBase):
    """The queries of :mod:`coding.exchange` (and of span agreement, which reads the spans)."""

    def export_rows(self, coders: list[str], codebook_version: str | None = None,
                    segmentation: str | None = None) -> list[tuple]:
        """Codings of ``coders`` with their unit spans, for exchange files:
        (document_id, unit_id, start, end, coder, variable, code, created_at)
        in document, unit, coder, variable and code order."""
        version = codebook_version or self.current_codebook()
        seg = segmentation or self.segmentation()
        marks = ",".join("?" * len(coders))
        return self.db.execute(
            f"""SELECT u.document_id, u.id, u.start, u."end", c.coder, c.variable, c.code, c.created_at
                FROM codings c JOIN units u ON u.id=c.unit_id JOIN documents d ON d.id=u.document_id
                WHERE u.segmentation=? AND c.codebook_version=? AND c.coder IN ({marks})
                ORDER BY d.position, u.ordinal, c.coder, c.variable, c.code""",
            [seg, version, *coders],
        ).fetchall()

    def set_coding_times(self, coder: str, codebook_version: str, times: dict[tuple[str, str, str], str]) -> int:
        """Set the ``created_at`` of stored codings of ``coder``, keyed by
        (unit_id, variable, code), e.g. to the times an exchange file gives
        after :meth:`replace_coder` stored them with the time of import.
        Keys without a stored coding are ignored; returns how many were set."""
        rows = [(when, coder, codebook_version, unit, variable, code)
                for (unit, variable, code), when in times.items()]
        with self.transaction():
            before = self.db.total_changes
            self.db.executemany(
                "UPDATE codings SET created_at=? WHERE coder=? AND codebook_version=? AND unit_id=? "
                "AND variable=? AND code=?", rows)
            return self.db.total_changes - before

    # -- spans and notes from exchange files ------------------------------
    def replace_exchange(self, coder: str, spans: list[tuple], notes: list[tuple]) -> None:
        """Replace ``coder``'s span codings and notes at once.

        ``spans``: (document_id, start, end, code, variable, created_at, memo,
        status, label); ``notes``: (kind, target, name, text, author, created_at)."""
        with self.transaction():
            self.db.execute("DELETE FROM span_codings WHERE coder=?", (coder,))
            self.db.execute("DELETE FROM exchange_notes WHERE coder=?", (coder,))
            self.db.executemany("INSERT INTO span_codings VALUES (?,?,?,?,?,?,?,?,?,?)",
                                [(coder, *row) for row in spans])
            self.db.executemany("INSERT INTO exchange_notes VALUES (?,?,?,?,?,?,?,?)",
                                [(coder, *row, i) for i, row in enumerate(notes)])

    def span_codings(self, coder: str | None = None, with_status: bool = False,
                     document_id: str | None = None) -> list[tuple]:
        """People's codings as they made them: (coder, document_id, start,
        end, code, variable, created_at, memo) by coder, document and
        position (with ``with_status``, then the span's status and the
        code's label in the file), of one document with ``document_id``."""
        extra = ", status, label" if with_status else ""
        conditions = [(c, v) for c, v in (("coder=?", coder), ("document_id=?", document_id)) if v is not None]
        where = ("WHERE " + " AND ".join(c for c, _v in conditions)) if conditions else ""
        params = tuple(v for _c, v in conditions)
        return self.db.execute(
            f'SELECT coder, document_id, start, "end", code, variable, created_at, memo{extra} FROM span_codings '
            f'{where} ORDER BY coder, document_id, start, "end", variable, code', params).fetchall()

    def exchange_notes(self, coder: str | None = None) -> list[tuple]:
        """Memos, cases and notes read from exchange files: (coder, kind,
        target, name, text, author, created_at), in the order read."""
        where, params = ("WHERE coder=?", (coder,)) if coder is not None else ("", ())
        return self.db.execute(f"SELECT coder, kind, target, name, text, author, created_at FROM exchange_notes "
                               f"{where} ORDER BY coder, position", params).fetchall()

