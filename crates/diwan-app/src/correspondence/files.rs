//! Downloading a file of a correspondence.

use crate::Services;
use crate::access::Actor;
use crate::error::AppError;
use crate::model::FileRecord;

#[derive(Debug)]
pub struct FileDownload {
    pub record: FileRecord,
    pub bytes: Vec<u8>,
}

pub fn download(
    s: &Services,
    actor: &Actor,
    id: &str,
    file_id: &str,
) -> Result<FileDownload, AppError> {
    let (c, _) = super::load_visible(s, actor, id)?;
    let record = c
        .files
        .into_iter()
        .find(|f| f.id == file_id)
        .ok_or_else(|| AppError::not_found("file"))?;
    read(s, record)
}

/// A registered file's bytes, from the blob store (checked against its digest there).
pub(crate) fn read(s: &Services, record: FileRecord) -> Result<FileDownload, AppError> {
    let bytes = s.blobs.read(&record.sha256)?.ok_or_else(|| {
        AppError::Internal(format!(
            "blob {} of file {} is missing",
            record.sha256, record.id
        ))
    })?;
    Ok(FileDownload { record, bytes })
}
