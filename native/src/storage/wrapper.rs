//! `impl ObjectStore` for a wrapper around an `inner: Arc<dyn ObjectStore>` field: the methods a
//! wrapper changes are written out, every write, delete, listing and copy goes to `inner`.

/// Implements `ObjectStore` for `$ty`: the given read methods, then `put_opts`, `put_multipart_opts`,
/// `delete`, `list_with_delimiter`, `copy` and `copy_if_not_exists` forwarded to `self.inner`.
macro_rules! wrapping_store {
    ($ty:ty { $($read:item)* }) => {
        #[async_trait::async_trait]
        impl object_store::ObjectStore for $ty {
            $($read)*

            async fn put_opts(
                &self,
                location: &object_store::path::Path,
                payload: object_store::PutPayload,
                opts: object_store::PutOptions,
            ) -> object_store::Result<object_store::PutResult> {
                self.inner.put_opts(location, payload, opts).await
            }

            async fn put_multipart_opts(
                &self,
                location: &object_store::path::Path,
                opts: object_store::PutMultipartOptions,
            ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
                self.inner.put_multipart_opts(location, opts).await
            }

            async fn delete(&self, location: &object_store::path::Path) -> object_store::Result<()> {
                self.inner.delete(location).await
            }

            async fn list_with_delimiter(
                &self,
                prefix: Option<&object_store::path::Path>,
            ) -> object_store::Result<object_store::ListResult> {
                self.inner.list_with_delimiter(prefix).await
            }

            async fn copy(&self, from: &object_store::path::Path, to: &object_store::path::Path) -> object_store::Result<()> {
                self.inner.copy(from, to).await
            }

            async fn copy_if_not_exists(
                &self,
                from: &object_store::path::Path,
                to: &object_store::path::Path,
            ) -> object_store::Result<()> {
                self.inner.copy_if_not_exists(from, to).await
            }
        }
    };
}
