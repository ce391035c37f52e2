-- A dossier page lists the results issued for it.
CREATE INDEX issued_documents_dossier ON issued_documents (dossier_id);
