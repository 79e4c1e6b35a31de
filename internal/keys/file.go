package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// PEM block types LoadFile accepts. WritePEM writes PEMTypePKCS8.
const (
	PEMTypePKCS8 = "PRIVATE KEY"
	PEMTypeSEC1  = "EC PRIVATE KEY"
	PEMTypePKCS1 = "RSA PRIVATE KEY"
)

// maxKeyFileSize bounds how much of a key file LoadFile reads.
const maxKeyFileSize = 1 << 20

// WritePEM writes signer as a PKCS#8 "PRIVATE KEY" PEM file into dir,
// creating dir with mode 0700 if needed. The file has mode 0600 and is named
// "<alg-lowercase>-<first 16 chars of kid>.pem". An existing file is never
// overwritten: that case is an error wrapping fs.ErrExist. WritePEM returns
// the file's path and the Key as LoadFile would load it.
func WritePEM(dir string, signer crypto.Signer) (string, *Key, error) {
	if signer == nil {
		return "", nil, errors.New("keys: write: nil signer")
	}
	alg, err := AlgOf(signer)
	if err != nil {
		return "", nil, fmt.Errorf("keys: write: %w", err)
	}
	if bits := rsaBits(signer); alg == RS256 && bits < MinRSABits {
		return "", nil, fmt.Errorf("keys: write: RSA key of %d bits is below the %d-bit minimum", bits, MinRSABits)
	}
	kid, err := Thumbprint(signer.Public())
	if err != nil {
		return "", nil, fmt.Errorf("keys: write: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return "", nil, fmt.Errorf("keys: write: marshal %s key: %w", alg, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("keys: write: create key dir: %w", err)
	}
	path := filepath.Join(dir, strings.ToLower(alg)+"-"+kid[:16]+".pem")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", nil, fmt.Errorf("keys: write: %w", err)
	}
	err = pem.Encode(f, &pem.Block{Type: PEMTypePKCS8, Bytes: der})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return "", nil, fmt.Errorf("keys: write %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", nil, fmt.Errorf("keys: write: %w", err)
	}
	return path, &Key{
		KID:       kid,
		Alg:       alg,
		Signer:    signer,
		Public:    signer.Public(),
		Source:    path,
		CreatedAt: fi.ModTime().UTC(),
		Mode:      fi.Mode().Perm(),
	}, nil
}

// LoadFile parses one PEM private key file: PKCS#8 "PRIVATE KEY", SEC1
// "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY" (an "EC PARAMETERS" block
// beside a key is ignored). It fills KID, Alg, Signer, Public, Source,
// CreatedAt (the file's modification time, UTC) and Mode (its permission
// bits: the caller decides what an Exposed file means). RSA keys under MinRSABits,
// curves other than P-256, encrypted keys, other block types and files with
// more than one key are errors. Errors name the file and never include key
// material.
func LoadFile(path string) (*Key, error) {
	k, err := loadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys: load %s: %w", path, err)
	}
	return k, nil
}

func loadFile(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("file larger than %d bytes", maxKeyFileSize)
	}
	signer, err := parsePEM(data)
	if err != nil {
		return nil, err
	}
	alg, err := AlgOf(signer)
	if err != nil {
		return nil, err
	}
	if bits := rsaBits(signer); alg == RS256 && bits < MinRSABits {
		return nil, fmt.Errorf("RSA key of %d bits is below the %d-bit minimum", bits, MinRSABits)
	}
	kid, err := Thumbprint(signer.Public())
	if err != nil {
		return nil, err
	}
	return &Key{
		KID:       kid,
		Alg:       alg,
		Signer:    signer,
		Public:    signer.Public(),
		Source:    path,
		CreatedAt: fi.ModTime().UTC(),
		Mode:      fi.Mode().Perm(),
	}, nil
}

// parsePEM returns the single private key in data. Parser errors from
// crypto/x509 describe the structure, never the key bytes.
func parsePEM(data []byte) (crypto.Signer, error) {
	var found *pem.Block
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "EC PARAMETERS":
			continue
		case PEMTypePKCS8, PEMTypeSEC1, PEMTypePKCS1:
			if _, ok := block.Headers["DEK-Info"]; ok {
				return nil, fmt.Errorf("%w: encrypted PEM key", ErrUnsupported)
			}
			if found != nil {
				return nil, errors.New("more than one private key in file")
			}
			found = block
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%w: encrypted PEM key", ErrUnsupported)
		default:
			return nil, fmt.Errorf("%w PEM block type %q (want %q, %q or %q)", ErrUnsupported, block.Type, PEMTypePKCS8, PEMTypeSEC1, PEMTypePKCS1)
		}
	}
	if found == nil {
		return nil, errors.New("no PEM private key block found")
	}
	var (
		key any
		err error
	)
	switch found.Type {
	case PEMTypePKCS8:
		key, err = x509.ParsePKCS8PrivateKey(found.Bytes)
	case PEMTypeSEC1:
		key, err = x509.ParseECPrivateKey(found.Bytes)
	case PEMTypePKCS1:
		key, err = x509.ParsePKCS1PrivateKey(found.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %q block: %w", found.Type, err)
	}
	switch key := key.(type) {
	case ed25519.PrivateKey:
		return key, nil
	case *ecdsa.PrivateKey:
		return key, nil
	case *rsa.PrivateKey:
		return key, nil
	default:
		return nil, fmt.Errorf("%w key type %T", ErrUnsupported, key)
	}
}

// LoadDir loads every regular *.pem file in dir (not recursive), in name
// order, ignoring other files. Any file that fails to load fails the whole
// call; the error joins one error per bad file. A missing dir is an error
// wrapping fs.ErrNotExist. The same key found in several files is returned
// once, from the first file by name. An empty dir yields no keys and no error.
func LoadDir(dir string) ([]*Key, error) {
	paths, err := pemFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("keys: load dir: %w", err)
	}
	var (
		out  []*Key
		seen = make(map[string]bool, len(paths))
		errs []error
	)
	for _, p := range paths {
		k, err := LoadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[k.KID] {
			continue
		}
		seen[k.KID] = true
		out = append(out, k)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// pemFiles lists the *.pem entries of dir that are not directories, sorted
// by name.
func pemFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".pem") {
			continue
		}
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	return paths, nil
}

// EnsureDevKey makes sure dir holds a key for development: if dir is missing
// or holds no *.pem file, it creates dir (0700) and writes a new Ed25519 key
// (0600), returning created=true and the new file's path. Otherwise it
// returns created=false and an empty path.
func EnsureDevKey(dir string) (created bool, path string, err error) {
	paths, err := pemFiles(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, "", fmt.Errorf("keys: dev key: %w", err)
	}
	if len(paths) > 0 {
		return false, "", nil
	}
	signer, err := Generate(EdDSA)
	if err != nil {
		return false, "", fmt.Errorf("keys: dev key: %w", err)
	}
	path, _, err = WritePEM(dir, signer)
	if err != nil {
		return false, "", fmt.Errorf("keys: dev key: %w", err)
	}
	return true, path, nil
}

// SecretKey builds an HS256 Key from a shared secret of at least
// MinSecretLen bytes; its KID is ThumbprintSecret(secret). The secret is
// copied.
func SecretKey(secret []byte) (*Key, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("keys: HS256 secret of %d bytes is shorter than %d bytes", len(secret), MinSecretLen)
	}
	s := bytes.Clone(secret)
	return &Key{KID: ThumbprintSecret(s), Alg: HS256, Secret: s}, nil
}
