// bioevo: vector versions of the math functions for the loops Brian2 generates.
//
// Brian2 compiles with -ffast-math -fno-finite-math-only (infinities and NaN must keep working);
// the second flag leaves __FAST_MATH__ undefined, so glibc's <math.h> does not declare the SIMD
// variants of exp, log, ... (libmvec, glibc >= 2.22 on x86-64) and any loop that calls one stays
// scalar: most of a Hodgkin-Huxley step is seven calls to the scalar exp (a model file's tanh or
// cosh likewise; bioevo's Morris-Lecar files write theirs through exp).  Declaring them here lets
// gcc vectorise those loops.  libmvec's functions are accurate to within 4 ulp (the scalar ones
// to within 1), so results move in the last digits; nothing else changes.  Other platforms and C
// libraries are left as they are.
#ifndef BIOEVO_VECTOR_MATH_H
#define BIOEVO_VECTOR_MATH_H
#include <cmath>
#if defined(__x86_64__) && defined(__GLIBC__) && !defined(__FAST_MATH__) && defined(__GNUC__) && !defined(__clang__) \
    && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 22))
extern "C" {
double exp(double) noexcept __attribute__((simd("notinbranch")));
double log(double) noexcept __attribute__((simd("notinbranch")));
double sin(double) noexcept __attribute__((simd("notinbranch")));
double cos(double) noexcept __attribute__((simd("notinbranch")));
double pow(double, double) noexcept __attribute__((simd("notinbranch")));
float expf(float) noexcept __attribute__((simd("notinbranch")));
float logf(float) noexcept __attribute__((simd("notinbranch")));
float sinf(float) noexcept __attribute__((simd("notinbranch")));
float cosf(float) noexcept __attribute__((simd("notinbranch")));
float powf(float, float) noexcept __attribute__((simd("notinbranch")));
}
// the hyperbolic functions of channel kinetics (Morris-Lecar's gating in its textbook form)
// have vector versions from glibc 2.35 on
#if __GLIBC__ > 2 || __GLIBC_MINOR__ >= 35
extern "C" {
double tanh(double) noexcept __attribute__((simd("notinbranch")));
double cosh(double) noexcept __attribute__((simd("notinbranch")));
double sinh(double) noexcept __attribute__((simd("notinbranch")));
float tanhf(float) noexcept __attribute__((simd("notinbranch")));
float coshf(float) noexcept __attribute__((simd("notinbranch")));
float sinhf(float) noexcept __attribute__((simd("notinbranch")));
}
#endif
#endif
#endif
