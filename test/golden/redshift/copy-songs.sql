COPY song_batch FROM 's3://udacity-dend/_sparkify/manifests/songs-x.json' IAM_ROLE 'arn:aws:iam::123456789012:role/sparkify-copy' REGION 'us-west-2' MANIFEST
           FORMAT AS JSON 'auto' MAXERROR 10 COMPUPDATE OFF STATUPDATE OFF;
