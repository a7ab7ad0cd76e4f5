// Bytes, the buffer a read grows into, shared by both executors. malloc'd and released
// whole, so a consumer can take its memory over instead of copying it.
#include "file_ops.h"

#include <cstdlib>

namespace ringleader {

Bytes::~Bytes() { std::free(data_); }

Bytes::Bytes(Bytes&& other) noexcept : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
  other.data_ = nullptr;
  other.size_ = other.capacity_ = 0;
}

Bytes& Bytes::operator=(Bytes&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = other.data_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
  }
  return *this;
}

bool Bytes::reserve(std::size_t capacity) {
  if (capacity <= capacity_) return true;
  void* p = std::realloc(data_, capacity);
  if (p == nullptr) return false;
  data_ = static_cast<uint8_t*>(p);
  capacity_ = capacity;
  return true;
}

void Bytes::shrink_to_fit() {
  if (size_ == capacity_) return;
  if (size_ == 0) {
    std::free(data_);
    data_ = nullptr;
    capacity_ = 0;
    return;
  }
  // A failed shrink leaves the larger block, which is still correct.
  if (void* p = std::realloc(data_, size_)) {
    data_ = static_cast<uint8_t*>(p);
    capacity_ = size_;
  }
}

uint8_t* Bytes::release() {
  uint8_t* p = data_;
  data_ = nullptr;
  size_ = capacity_ = 0;
  return p;
}

}  // namespace ringleader
