//! Large bodies sent from a file without holding it: chunks read on the blocking pool.

use std::io::Read;

use actix_web::body::SizedStream;
use actix_web::web::{self, Bytes};
use diwan_app::ports::ReadSeek;
use futures_util::Stream;

/// Bytes read at once.
const CHUNK: usize = 256 * 1024;

/// A body of `size` bytes read from `content` in chunks. A read error ends the body early
/// (the client sees a short transfer); it is logged.
pub(crate) fn file_body(
    content: Box<dyn ReadSeek>,
    size: u64,
) -> SizedStream<impl Stream<Item = Result<Bytes, actix_web::Error>>> {
    let chunks = futures_util::stream::unfold(Some(content), |state| async move {
        let mut reader = state?;
        let read = web::block(move || {
            let mut buf = vec![0u8; CHUNK];
            let n = reader.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((reader, buf))
        })
        .await;
        match read {
            Ok(Ok((_, buf))) if buf.is_empty() => None,
            Ok(Ok((reader, buf))) => Some((Ok(Bytes::from(buf)), Some(reader))),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "reading a file being sent");
                Some((
                    Err(actix_web::error::ErrorInternalServerError("read")),
                    None,
                ))
            }
            Err(e) => {
                tracing::error!(error = %e, "reading a file being sent");
                Some((
                    Err(actix_web::error::ErrorInternalServerError("read")),
                    None,
                ))
            }
        }
    });
    SizedStream::new(size, chunks)
}
