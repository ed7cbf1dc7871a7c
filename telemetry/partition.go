package telemetry

// Murmur2 is the 32-bit murmur2 hash exactly as the Apache Kafka Java client
// computes it (org.apache.kafka.common.utils.Utils.murmur2): seed
// 0x9747b28c, little-endian 4-byte blocks.
func Murmur2(data []byte) int32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	n := len(data)
	h := uint32(seed) ^ uint32(n)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch n - i {
	case 3:
		h ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// Partition returns the partition of key among n partitions as the Java
// client's default partitioner chooses it: toPositive(murmur2(key)) % n,
// where toPositive clears the sign bit (x & 0x7fffffff, not abs).
func Partition(key []byte, n int32) int32 {
	if n <= 0 {
		return 0
	}
	return (Murmur2(key) & 0x7fffffff) % n
}
